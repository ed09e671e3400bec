import type { Command } from '@oclif/core';
import Cancel from './cancel.js';
import Checkpoint from './checkpoint.js';
import Dashboard from './dashboard.js';
import Checkpoints from './checkpoints.js';
import Info from './info.js';
import List from './list.js';
import Run from './run.js';
import Savepoint from './savepoint.js';
import SavepointConvert from './savepoint-convert.js';
import Savepoints from './savepoints.js';
import State from './state.js';
import Stop from './stop.js';

/** The `flink` verbs, loaded by oclif's explicit command discovery (package.json "oclif.commands"). */
export const COMMANDS: Record<string, Command.Class> = {
  run: Run,
  list: List,
  savepoint: Savepoint,
  cancel: Cancel,
  stop: Stop,
  state: State,
  checkpoint: Checkpoint,
  dashboard: Dashboard,
  checkpoints: Checkpoints,
  savepoints: Savepoints,
  info: Info,
  'savepoint-convert': SavepointConvert,
};
