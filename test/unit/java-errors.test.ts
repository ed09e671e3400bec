/** Apache Flink's REST errors (Java stack traces) as one line: src/rest/javaErrors.ts, decode.failureMessage. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureMessage } from '../../src/rest/decode.js';
import { summarizeFlinkErrors, summarizeJavaError } from '../../src/rest/javaErrors.js';

// Shapes as Flink 2.2.1 sends them (shortened frames), recorded from the real cluster of test/support/flink.ts.
const NOT_FOUND = 'org.apache.flink.runtime.rest.NotFoundException: Job 0123456789abcdef0123456789abcdef not found\n\tat org.apache.flink.runtime.rest.handler.job.AbstractExecutionGraphHandler.lambda$handleRequest$1(AbstractExecutionGraphHandler.java:99)\n\tat java.base/java.util.concurrent.CompletableFuture.uniExceptionally(CompletableFuture.java:990)\nCaused by: org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (0123456789abcdef0123456789abcdef)\n\t... 37 more\n';
const SERVER_SIDE = "<Exception on server side:\njava.util.concurrent.CompletionException: org.apache.flink.client.program.ProgramInvocationException: Error while opening jar file '/u/x.jar'\n\tat a.B.c(B.java:1)\nCaused by: org.apache.flink.client.program.ProgramInvocationException: Error while opening jar file '/u/x.jar'\n\t... 50 more\nCaused by: java.util.zip.ZipException: zip END header not found\n\t... 55 more\n\nEnd of exception on server side>";

describe("Flink's Java errors as one line", () => {
  it('keeps the message, drops class names and frames, adds a differing root cause', () => {
    assert.equal(summarizeJavaError(NOT_FOUND), 'Job 0123456789abcdef0123456789abcdef not found: Could not find Flink job (0123456789abcdef0123456789abcdef)');
    assert.equal(summarizeFlinkErrors(['Internal server error.', SERVER_SIDE]), "Error while opening jar file '/u/x.jar': zip END header not found");
  });

  it('leaves plain messages alone and keeps a bare exception class', () => {
    assert.equal(summarizeJavaError('Job could not be found.'), 'Job could not be found.');
    assert.equal(summarizeFlinkErrors(['Internal server error.']), 'Internal server error.');
    assert.equal(summarizeJavaError('java.lang.IllegalStateException\n\tat x.Y.z(Y.java:1)'), 'java.lang.IllegalStateException');
  });

  it("a failure-cause's stack trace gives the root cause, joined after a sentence", () => {
    const cause = {
      class: 'java.util.concurrent.CompletionException',
      'stack-trace': "java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: An Exception occurred while triggering the checkpoint. IO-problem detected.\n\tat a.b(C.java:1)\nCaused by: org.apache.flink.runtime.checkpoint.CheckpointException: An Exception occurred while triggering the checkpoint. IO-problem detected.\n\t... 3 more\nCaused by: org.apache.flink.core.fs.UnsupportedFileSystemSchemeException: Could not find a file system implementation for scheme 's3'.\n\t... 9 more\n",
    };
    assert.equal(failureMessage(cause), "An Exception occurred while triggering the checkpoint. IO-problem detected. Could not find a file system implementation for scheme 's3'.");
    // Without causes (our mini-cluster's simple traces) the first line's message, as before.
    assert.equal(failureMessage({ class: 'java.lang.Exception', 'stack-trace': 'java.lang.Exception: boom\n\tat x' }), 'boom');
  });
});
