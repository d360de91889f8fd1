#!/usr/bin/env node
import module from 'node:module';

// Node 22.1 and later keep V8's compiled code of composync's modules between runs, which spares
// every command most of its module compilation; older releases lack the call and compile anew.
module.enableCompileCache?.();
const { main } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
