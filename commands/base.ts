import { Command, Errors, Flags } from '@oclif/core';
import type { CheckpointIndex } from '../src/catalog/CheckpointIndex.js';
import { ClusterClient, parseJobId } from '../src/client/ClusterClient.js';
import { resolveJob } from '../src/catalog/JobReference.js';
import { FlinkError, isFlinkError } from '../src/core/FlinkError.js';
import { openIndex } from '../src/client/openIndex.js';
import { Configuration, parseDynamicProperty } from '../src/config/Configuration.js';
import { ClientOptions, FlinkTsOptions, RestOptions } from '../src/config/ConfigOptions.js';
import { RestClient } from '../src/rest/RestClient.js';
import { describeError } from '../src/core/FlinkError.js';
import { errorKindOf, exitCodeFor, oneLineMessage, stackOf } from './errors.js';
import { Ui } from './ui.js';

/**
 * Base of every `flink` verb: --json and --verbose, configuration and index loading, and one error path:
 * each failure is one `flink: <message>` line on stderr (plus `{"error": …}` on stdout with --json) and a
 * stable exit code; stack traces only with --verbose.
 */
export abstract class FlinkCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    verbose: Flags.boolean({ summary: 'Print stack traces of errors.', default: false }),
  };

  private uiInstance: Ui | undefined;
  private readonly indexes: CheckpointIndex[] = [];

  protected get ui(): Ui {
    return (this.uiInstance ??= new Ui(this.jsonEnabled()));
  }

  /** flink.yaml from FLINK_CONF_DIR (or the embedded conf/) with -D overrides; warnings go to stderr. */
  protected loadConfig(dynamicProps: string[] | undefined): Configuration {
    const dynamicProperties: Record<string, string> = {};
    for (const p of dynamicProps ?? []) {
      const [k, v] = parseDynamicProperty(p);
      dynamicProperties[k] = v;
    }
    const { config, warnings } = Configuration.load({ dynamicProperties, env: process.env });
    for (const w of warnings) this.ui.warn(w);
    config.validate();
    return config;
  }

  /** Opens the job/snapshot index the configuration points at; closed when the command ends. */
  protected openIndex(config: Configuration): CheckpointIndex {
    const index = openIndex(config);
    this.indexes.push(index);
    return index;
  }

  /**
   * The client for job-control verbs: through -m, or rest.address/rest.port when the configuration sets either
   * (as Flink's CLI reads them), else through the index. client.timeout bounds every request and every wait.
   * Through a cluster address the index still records that cluster's jobs and snapshots (best effort).
   */
  protected clusterClient(config: Configuration, jobmanager: string | undefined): ClusterClient {
    const address = jobManagerAddress(config, jobmanager);
    const timeout = config.get(ClientOptions.CLIENT_TIMEOUT);
    return new ClusterClient({
      config, jobmanager: address, index: address === undefined ? this.openIndex(config) : this.openIndexQuietly(config),
      // Each request too; through the index only when set, so a silent recorded endpoint keeps its short probe in `list`.
      operationTimeoutMs: timeout, requestTimeoutMs: address !== undefined || config.contains(ClientOptions.CLIENT_TIMEOUT) ? timeout : undefined,
    });
  }

  /** Where the verb's cluster is: see jobManagerAddress(). */
  protected jobManagerAddress(config: Configuration, jobmanager: string | undefined): string | undefined {
    return jobManagerAddress(config, jobmanager);
  }

  /** A REST client for a cluster address, with client.timeout and rest.auth.token of the configuration. */
  protected restClient(config: Configuration, address: string): RestClient {
    return new RestClient(address, { timeoutMs: config.get(ClientOptions.CLIENT_TIMEOUT), token: config.getOptional(FlinkTsOptions.REST_AUTH_TOKEN) });
  }

  /** The index when it can be opened, else undefined (a warning): for bookkeeping that must not fail the verb. */
  protected openIndexQuietly(config: Configuration): CheckpointIndex | undefined {
    try {
      return this.openIndex(config);
    } catch (e) {
      this.ui.warn(`cannot open the index, this cluster's jobs and snapshots are not recorded: ${describeError(e)}`);
      return undefined;
    }
  }

  /**
   * A job argument of Flink's verbs: a JobID as Flink takes it, or (ours, without -m) a job name looked up in the
   * catalog. Neither a JobID nor a known name is Flink's usage error (exit 2), naming both readings.
   */
  protected jobIdOf(raw: string | undefined, config: Configuration, jobmanager: string | undefined): string {
    if (raw === undefined || jobmanager !== undefined || /^\s*[0-9a-fA-F]{32}\s*$/.test(raw)) return parseJobId(raw);
    try {
      return resolveJob(this.openIndex(config), raw).jobId;
    } catch (e) {
      if (!isFlinkError(e) || e.kind !== 'not-found') throw e;
      try {
        return parseJobId(raw);
      } catch (p) {
        throw new FlinkError('invalid-argument', `${(p as Error).message} No job named '${raw}' is in the catalog either.`);
      }
    }
  }

  override async catch(err: Error & { exitCode?: number }): Promise<void> {
    this.uiInstance?.stopSpinner();
    const code = exitCodeFor(err);
    process.exitCode = code;
    if (err instanceof Errors.ExitError) return;
    const message = oneLineMessage(err);
    process.stderr.write(`flink: ${message}\n`);
    if (this.argv.includes('--verbose')) process.stderr.write(`${stackOf(err)}\n`);
    if (this.jsonEnabled()) this.logJson({ error: { kind: errorKindOf(err), message } });
  }

  override async finally(err: Error | undefined): Promise<void> {
    for (const i of this.indexes.splice(0)) {
      try {
        i.close();
      } catch {
        /* closing is best effort */
      }
    }
    await super.finally(err);
  }

  /** Plain JSON: no colours, whatever oclif's theme says. */
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  }
}

/** -m, else `rest.address:rest.port` when the configuration sets either key (Flink's CLI), else none: the index. */
export function jobManagerAddress(config: Configuration, jobmanager: string | undefined): string | undefined {
  if (jobmanager !== undefined) return jobmanager;
  if (!config.contains(RestOptions.ADDRESS) && !config.contains(RestOptions.PORT)) return undefined;
  return `${config.get(RestOptions.ADDRESS)}:${config.get(RestOptions.PORT)}`;
}
