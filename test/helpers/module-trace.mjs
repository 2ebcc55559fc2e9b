// Preloaded with `node --import` by tests: records the URL of every module the process resolves
// (ES modules, and the packages they import) to the file named by YGG_TEST_MODULE_TRACE, one a
// line. The hooks run on the loader's own thread, so they see every import, static or dynamic.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) {
  out = data.out;
}
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(out, resolved.url + '\\n');
  return resolved;
}
`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
  data: { out: process.env.YGG_TEST_MODULE_TRACE },
});
