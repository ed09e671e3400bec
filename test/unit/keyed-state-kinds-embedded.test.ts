/** The keyed-state-kinds suite against the embedded on-disk backend. */
process.env.FLINK_TS_TEST_BACKEND = 'embedded';
await import('./keyed-state-kinds.test.js');
