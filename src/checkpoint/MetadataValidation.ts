/**
 * Shape check of a decoded `_metadata` payload. The CRC only proves the bytes are the ones written; a file
 * written by another tool, a hand edit, or a future format can still be valid JSON of the wrong shape, which
 * must be refused as corrupt (one line naming the field) instead of crashing a reader with a TypeError.
 * Unknown extra fields are allowed, so newer writers can add optional ones.
 */
export function metadataShapeProblem(md: unknown): string | undefined {
  if (!isObject(md)) return 'the payload is not an object';
  const top: [string, (v: unknown) => boolean, string][] = [
    ['jobId', isString, 'a string'],
    ['jobName', isString, 'a string'],
    ['checkpointId', isNat, 'a non-negative integer'],
    ['kind', (v) => v === 'CHECKPOINT' || v === 'SAVEPOINT', "'CHECKPOINT' or 'SAVEPOINT'"],
    ['triggerTimestamp', isFiniteNumber, 'a number'],
    ['completionTimestamp', isFiniteNumber, 'a number'],
    ['maxParallelism', (v) => isNat(v) && (v as number) >= 1, 'a positive integer'],
    ['operators', Array.isArray, 'an array'],
  ];
  for (const [k, ok, what] of top) if (!ok(md[k])) return `${k} is not ${what}`;
  if (md.format !== undefined && !isString(md.format)) return 'format is not a string';
  if (md.finishedOperators !== undefined && !(Array.isArray(md.finishedOperators) && md.finishedOperators.every(isString))) {
    return 'finishedOperators is not an array of strings';
  }
  const operators = md.operators as unknown[];
  for (let i = 0; i < operators.length; i++) {
    const op = operators[i];
    const at = `operators[${i}]`;
    if (!isObject(op)) return `${at} is not an object`;
    if (!isString(op.operatorId)) return `${at}.operatorId is not a string`;
    if (op.uid !== undefined && !isString(op.uid)) return `${at}.uid is not a string`;
    if (!isString(op.name)) return `${at}.name is not a string`;
    if (!isNat(op.parallelism) || op.parallelism < 1) return `${at}.parallelism is not a positive integer`;
    if (!isNat(op.maxParallelism) || op.maxParallelism < 1) return `${at}.maxParallelism is not a positive integer`;
    if (!Array.isArray(op.subtasks)) return `${at}.subtasks is not an array`;
    for (let j = 0; j < op.subtasks.length; j++) {
      const st = op.subtasks[j];
      const sat = `${at}.subtasks[${j}]`;
      if (!isObject(st)) return `${sat} is not an object`;
      if (!isNat(st.subtask)) return `${sat}.subtask is not a non-negative integer`;
      const problem = stateHandleProblem(st.state);
      if (problem) return `${sat}.state${problem}`;
    }
  }
  if (md.channelState !== undefined) {
    if (!Array.isArray(md.channelState)) return 'channelState is not an array';
    for (let i = 0; i < md.channelState.length; i++) {
      const cs = md.channelState[i];
      const at = `channelState[${i}]`;
      if (!isObject(cs) || !isString(cs.operatorId) || !Array.isArray(cs.subtasks)) return `${at} is not a task's in-flight data`;
      for (let j = 0; j < cs.subtasks.length; j++) {
        const st = cs.subtasks[j];
        if (!isObject(st) || !isNat(st.subtask)) return `${at}.subtasks[${j}] is not a subtask's in-flight data`;
        const problem = fileProblem(st.state);
        if (problem) return `${at}.subtasks[${j}].state${problem}`;
      }
    }
  }
  return undefined;
}

/** A file reference: name, size and checksum. */
function fileProblem(h: unknown): string | undefined {
  if (!isObject(h)) return ' is not an object';
  if (!isString(h.file) || h.file === '') return '.file is not a file name';
  if (!isNat(h.size)) return '.size is not a non-negative integer';
  if (!isNat(h.crc32) || h.crc32 > 0xffffffff) return '.crc32 is not a 32-bit checksum';
  return undefined;
}

function stateHandleProblem(h: unknown): string | undefined {
  const file = fileProblem(h);
  if (file || !isObject(h)) return file;
  if (h.keyedStateFiles !== undefined) {
    if (!Array.isArray(h.keyedStateFiles)) return '.keyedStateFiles is not an array';
    for (let i = 0; i < h.keyedStateFiles.length; i++) {
      const problem = fileProblem(h.keyedStateFiles[i]);
      if (problem) return `.keyedStateFiles[${i}]${problem}`;
    }
  }
  if (h.keyGroupRange !== undefined) {
    const r = h.keyGroupRange;
    if (!Array.isArray(r) || r.length !== 2 || !isNat(r[0]) || !isNat(r[1]) || r[0] > r[1]) return '.keyGroupRange is not a [start, end] range';
  }
  if (h.keyGroupOffsets !== undefined && !(Array.isArray(h.keyGroupOffsets) && h.keyGroupOffsets.every(isNat))) return '.keyGroupOffsets is not a list of offsets';
  if (h.operatorStateOffset !== undefined && !isNat(h.operatorStateOffset)) return '.operatorStateOffset is not an offset';
  if (!isStringRecord(h.keyedStates)) return '.keyedStates is not a map of state names to kinds';
  if (!isStringRecord(h.operatorStates)) return '.operatorStates is not a map of state names to modes';
  if (h.keyedEntries !== undefined && !isNat(h.keyedEntries)) return '.keyedEntries is not a count';
  return undefined;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isFiniteNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isNat = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringRecord = (v: unknown) => isObject(v) && Object.values(v).every(isString);
