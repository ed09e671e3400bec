/** The keyed-state-kinds suite against the embedded on-disk backend. */
process.env.FLINK_TS_TEST_BACKEND = 'embedded';
await import('./keyed-state-kinds.test.js');

// The hand-off through the environment worked: the suite above really ran against the embedded backend.
(await import('./backends.js')).testBackendIs('embedded');
