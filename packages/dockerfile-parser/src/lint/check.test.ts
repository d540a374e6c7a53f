import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../stages/assemble.js';
import { formatLintWarning } from './format.js';
import { LINT_RULES } from './rules.js';

function rulesOf(text: string, buildArgs: Record<string, string> = {}): string[] {
  return parseDockerfile(text, { buildArgs }).warnings.map(
    (warning) => `${warning.location.startLine}:${warning.rule}`,
  );
}

describe('lint rules', () => {
  it('reports nothing for a clean file', () => {
    expect(
      rulesOf(
        'FROM alpine:3.20 AS build\nWORKDIR /src\nCOPY . .\nRUN make\nFROM scratch\nCOPY --from=build /src/app /app\nCMD ["/app"]\n',
      ),
    ).toEqual([]);
  });

  it('StageNameCasing and FromAsCasing', () => {
    expect(rulesOf('FROM alpine as Build\nFROM Build\n')).toEqual([
      '1:StageNameCasing',
      '1:FromAsCasing',
    ]);
  });

  it('ConsistentInstructionCasing', () => {
    expect(rulesOf('FROM alpine\nRUN true\nworkdir /x\n')).toEqual([
      '3:ConsistentInstructionCasing',
    ]);
  });

  it('DuplicateStageName and ReservedStageName', () => {
    expect(rulesOf('FROM alpine AS a\nFROM alpine AS a\nFROM alpine AS scratch\n')).toEqual([
      '2:DuplicateStageName',
      '3:ReservedStageName',
    ]);
  });

  it('JSONArgsRecommended is quiet after SHELL', () => {
    expect(
      rulesOf(
        'FROM alpine AS a\nSHELL ["/bin/bash", "-c"]\nCMD echo\nFROM a\nENTRYPOINT exec app\n',
      ),
    ).toEqual([]);
  });

  it('JSONArgsRecommended and MultipleInstructionsDisallowed', () => {
    expect(rulesOf('FROM alpine\nCMD echo one\nCMD ["two"]\n')).toEqual([
      '2:JSONArgsRecommended',
      '2:MultipleInstructionsDisallowed',
    ]);
  });

  it('MaintainerDeprecated and LegacyKeyValueFormat', () => {
    expect(rulesOf('FROM alpine\nMAINTAINER me\nENV A b\nLABEL x y\n')).toEqual([
      '2:MaintainerDeprecated',
      '3:LegacyKeyValueFormat',
      '4:LegacyKeyValueFormat',
    ]);
  });

  it('UndefinedArgInFrom with a suggestion', () => {
    const warnings = parseDockerfile('ARG VERSION=1\nFROM alpine:${VERSIN:-3}\n').warnings;
    expect(warnings.map((warning) => warning.rule)).toEqual(['UndefinedArgInFrom']);
    expect(warnings[0]?.message).toBe(
      "FROM argument 'VERSIN' is not declared (did you mean VERSION?)",
    );
  });

  it('InvalidDefaultArgInFrom', () => {
    expect(rulesOf('ARG IMAGE\nFROM $IMAGE\n', { IMAGE: 'alpine' })).toEqual([
      '2:InvalidDefaultArgInFrom',
    ]);
  });

  it('UndefinedVar in stages built on scratch', () => {
    expect(rulesOf('FROM scratch\nARG A\nENV B=$A\nCOPY $B $C /\n')).toEqual(['4:UndefinedVar']);
    expect(rulesOf('FROM alpine\nENV PATH=/x:$PATH\n')).toEqual([]);
    expect(rulesOf('FROM scratch\nENV A=1 B=$A\nENV C=$A\n')).toEqual(['2:UndefinedVar']);
  });

  it('UndefinedVar suggests a close name', () => {
    const [warning] = parseDockerfile('FROM scratch\nENV VERSION=1\nLABEL v=$VERSON\n').warnings;
    expect(warning?.message).toBe("Usage of undefined variable '$VERSON' (did you mean $VERSION?)");
  });

  it('UndefinedVar with a known base image ENV', () => {
    const text =
      'FROM alpine:3.20 AS base\nENV PATH=/x:$PATH\nWORKDIR $HOME/$NOPE\nFROM base\nUSER $HOME\n';
    const warnings = parseDockerfile(text, {
      baseImageEnv: { 'alpine:3.20': ['PATH=/usr/bin', 'HOME=/root'] },
    }).warnings;
    expect(warnings.map((warning) => `${warning.location.startLine}:${warning.rule}`)).toEqual([
      '3:UndefinedVar',
    ]);
    expect(warnings[0]?.message).toBe("Usage of undefined variable '$NOPE'");
  });

  it('WorkdirRelativePath', () => {
    expect(rulesOf('FROM alpine\nWORKDIR app\nWORKDIR /app\nWORKDIR sub\n')).toEqual([
      '2:WorkdirRelativePath',
    ]);
  });

  it('SecretsUsedInArgOrEnv', () => {
    const text =
      'ARG GITHUB_TOKEN\nFROM alpine\nENV DB_PASSWORD=x PUBLIC_KEY=y HOME=/root dbPassword=z MONKEY=1\n';
    expect(parseDockerfile(text).warnings.map((warning) => warning.message)).toEqual([
      'Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")',
      'Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")',
    ]);
  });

  it('ExposeProtoCasing', () => {
    expect(rulesOf('FROM alpine\nEXPOSE 80/TCP 53/udp\n')).toEqual(['2:ExposeProtoCasing']);
  });

  it('ExposeInvalidFormat', () => {
    expect(rulesOf('FROM alpine\nEXPOSE 127.0.0.1:8080:80 80\n')).toEqual([
      '2:ExposeInvalidFormat',
    ]);
  });

  it('FromPlatformFlagConstDisallowed and RedundantTargetPlatform', () => {
    expect(
      rulesOf('FROM --platform=linux/amd64 alpine\nFROM --platform=$TARGETPLATFORM alpine\n'),
    ).toEqual(['1:FromPlatformFlagConstDisallowed', '2:RedundantTargetPlatform']);
  });

  it('NoEmptyContinuation', () => {
    expect(rulesOf('FROM alpine\nRUN a \\\n\n b\n')).toEqual(['4:NoEmptyContinuation']);
  });

  it('honours the check directive', () => {
    expect(
      rulesOf('# check=skip=JSONArgsRecommended\nFROM alpine\nCMD echo\nMAINTAINER me\n'),
    ).toEqual(['4:MaintainerDeprecated']);
    expect(rulesOf('# check=skip=all\nFROM alpine\nCMD echo\n')).toEqual([]);
    expect(
      parseDockerfile('# check=skip=MaintainerDeprecated;error=true\nFROM alpine\n')
        .warningsAreErrors,
    ).toBe(true);
    expect(parseDockerfile('FROM alpine\n').warningsAreErrors).toBe(false);
  });

  it('carries description and URL from the rule data', () => {
    const [warning] = parseDockerfile('FROM alpine\nMAINTAINER me\n', {
      fileName: 'x/Dockerfile',
    }).warnings;
    expect(warning).toEqual({
      rule: 'MaintainerDeprecated',
      message: 'Maintainer instruction is deprecated in favor of using label',
      description: LINT_RULES.MaintainerDeprecated.description,
      url: 'https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/',
      location: { file: 'x/Dockerfile', startLine: 2, endLine: 2 },
    });
  });
});

describe('formatLintWarning', () => {
  it('prints FILE:LINE: RuleName: message', () => {
    const [warning] = parseDockerfile('FROM alpine\nCMD run\n', {
      fileName: 'app/Dockerfile',
    }).warnings;
    expect(formatLintWarning(warning!)).toBe(
      'app/Dockerfile:2: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
    );
  });
});

describe('ConsistentInstructionCasing scope', () => {
  it('ignores global ARGs and ONBUILD triggers', () => {
    expect(rulesOf('arg V=1\nFROM alpine\nONBUILD run true\nRUN true\n')).toEqual([]);
  });
});
