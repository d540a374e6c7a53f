/** Keeps the last `maxLines` complete lines of a byte stream, plus the unfinished last line. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly maxLines = 20) {}

  /** Adds a chunk and returns the complete lines it finished. */
  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.maxLines) this.lines.shift();
    }
    return parts;
  }

  /** Returns the unfinished last line, if any, and moves it into the kept lines. */
  flush(): string | undefined {
    const rest = this.partial;
    this.partial = '';
    if (rest === '') return undefined;
    this.lines.push(rest);
    if (this.lines.length > this.maxLines) this.lines.shift();
    return rest;
  }

  toString(): string {
    return this.lines.join('\n');
  }
}
