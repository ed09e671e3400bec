import { spawn } from 'node:child_process';
import { Flags } from '@oclif/core';
import { FlinkTsOptions } from '../src/config/ConfigOptions.js';
import { FlinkError } from '../src/core/FlinkError.js';
import { FLINK_VERSION } from '../src/runtime/MiniCluster.js';
import { DashboardServer } from '../src/web/DashboardServer.js';
import { FlinkCommand } from './base.js';
import { propertyFlags } from './flags.js';

/** Flink's HistoryServer port (historyserver.web.port): the dashboard is its counterpart here. */
const DEFAULT_PORT = 8082;

export default class Dashboard extends FlinkCommand {
  static override summary = 'Serve a web dashboard over every job in the catalog.';
  static override description =
    'Serves one page, on loopback, like Flink\'s web UI: running jobs live from their own REST endpoints (proxied, ' +
    'read-only), finished, cancelled, failed and lost ones from the catalog, and every savepoint with the command ' +
    'to restore it. Runs until interrupted. With rest.auth.token set the page asks for the token.';
  static override examples = ['<%= config.bin %> dashboard', '<%= config.bin %> dashboard --port 0 --open'];

  static override flags = {
    port: Flags.integer({ char: 'p', summary: `Port on 127.0.0.1 (0 picks a free one).`, default: DEFAULT_PORT, min: 0, max: 65535 }),
    open: Flags.boolean({ summary: 'Open the page in the default browser.', default: false }),
    ...propertyFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Dashboard);
    const config = this.loadConfig(flags.property);
    const index = this.openIndex(config);
    const server = new DashboardServer({
      index, flinkVersion: FLINK_VERSION, host: '127.0.0.1', port: flags.port,
      authToken: config.getOptional(FlinkTsOptions.REST_AUTH_TOKEN),
    });
    const url = `${await server.start()}/`;
    if (this.jsonEnabled()) this.logJson({ url });
    this.ui.out(`Dashboard listening at ${url}`);
    this.ui.progress('Press Ctrl+C to stop.');
    if (flags.open) this.openBrowser(url);
    // `on`, not `once`, until the server is closed: a second signal during the close must not end the process by
    // signal (Node's default once no listener is left) instead of with exit 0.
    let stop = () => {};
    await new Promise<void>((resolve) => {
      stop = () => resolve();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }

  private openBrowser(url: string): void {
    const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    try {
      const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
      child.on('error', (e) => this.ui.warn(`could not open a browser (${cmd}: ${e.message}); open ${url} yourself`));
      child.unref();
    } catch (e) {
      throw new FlinkError('io', `Could not open a browser: ${(e as Error).message}`);
    }
  }
}
