// Runs the NestJS provider's redis.options.ts (docs/migration.md) as Node.js runs it once compiled: the TypeScript
// compiler strips its types (ts.transpileModule, the compiler's own API for compiling one file without resolving its
// imports: ioredis is not installed, and the file imports only its types, which the compiler removes), then
// redisOptions() runs in this process's environment. Prints {"options": ...} (reconnectOnError reported by what it
// returns for sample replies) or {"error": message}. Usage: node provider_options.js FILE.ts
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

const file = process.argv[2];
const compiled = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, strict: true },
  fileName: file,
  reportDiagnostics: true,
});
if (compiled.diagnostics.length) {
  const messages = compiled.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  console.log(JSON.stringify({ compileErrors: messages }));
  process.exit(0);
}
const loaded = new Module(file, module);
loaded.filename = file;
loaded.paths = Module._nodeModulePaths(require('node:path').dirname(file));
loaded._compile(compiled.outputText, file);

let options;
try {
  options = loaded.exports.redisOptions();
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
  process.exit(0);
}
const replies = ['READONLY You can\'t write against a read only replica.', 'NOREPLICAS Not enough good replicas to write.',
  'ERR unknown command'];
const printable = { ...options };
if (typeof options.reconnectOnError === 'function') {
  printable.reconnectOnError = Object.fromEntries(replies.map((r) => [r, options.reconnectOnError(new Error(r))]));
}
console.log(JSON.stringify({ options: printable }));
