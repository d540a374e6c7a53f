/* global process, console */
import http from 'node:http';

const port = Number(process.env.PORT || 8080);
if (process.argv.includes('--check')) {
  console.log(`node service on port ${port} (${process.env.NODE_ENV})`);
} else {
  http.createServer((request, response) => response.end('ok\n')).listen(port);
}
