import http from 'node:http';
import fs from 'node:fs';

const greeting = () => {
  try {
    return JSON.parse(fs.readFileSync('/app/config.json', 'utf8')).greeting;
  } catch {
    return 'Hello (config.json not synced yet)';
  }
};

http
  .createServer((_req, res) => res.end(`${greeting()} (pid ${process.pid})\n`))
  .listen(3000, () => console.log('listening on :3000'));
