/** The state-backend suite against the embedded on-disk backend. */
process.env.FLINK_TS_TEST_BACKEND = 'embedded';
await import('./state-backend.test.js');
