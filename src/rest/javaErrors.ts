/**
 * Apache Flink's REST errors carry whole Java stack traces (`{"errors":["…Exception: msg\n\tat …\nCaused by: …"]}`,
 * failure causes' `stack-trace`). The CLI prints one line: the outermost message and, when it says something
 * else, the root cause, without class names, frames or Flink's "<Exception on server side:" wrapper.
 */

const FRAME = /^\s+(at |\.\.\. \d+ more|Suppressed: )/;
// A fully qualified Java class name before a message: "org.apache.flink.runtime.rest.NotFoundException: ".
const CLASS_PREFIX = /^(?:Caused by: )?(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:\$[\w$]+)*(?::\s*|$)/;

/** The message of one "Class: message" line, all leading class names removed (wrappers repeat the cause's). */
function stripClasses(line: string): string {
  let s = line.trim();
  for (let prev = ''; prev !== s;) {
    prev = s;
    s = s.replace(CLASS_PREFIX, '').trim();
  }
  return s;
}

/** One line for a Java exception text: its message, plus the root cause's when that differs. */
export function summarizeJavaError(text: string): string {
  const lines = text.replace(/^<Exception on server side:\s*/, '').replace(/\s*End of exception on server side>\s*$/, '').split(/\r?\n/);
  const heads = lines.filter((l) => l.trim() !== '' && !FRAME.test(l));
  if (heads.length === 0) return text.trim();
  if (heads.length === lines.filter((l) => l.trim() !== '').length && !CLASS_PREFIX.test(heads[0])) return heads.join(' ').trim(); // a plain message
  const first = stripClasses(heads[0]) || heads[0].trim();
  const causes = heads.filter((l) => l.startsWith('Caused by: ')).map(stripClasses).filter((m) => m !== '');
  const root = causes[causes.length - 1];
  if (root === undefined || first.includes(root)) return first;
  if (root.includes(first)) return root;
  return /[.!?]$/.test(first) ? `${first} ${root}` : `${first}: ${root}`;
}

/** Flink's `errors` array as one line; "Internal server error." only when nothing better is there. */
export function summarizeFlinkErrors(errors: readonly string[]): string {
  const parts = errors.map(summarizeJavaError).filter((m) => m !== '');
  const specific = parts.filter((m) => m !== 'Internal server error.');
  return (specific.length > 0 ? specific : parts).join(' ');
}
