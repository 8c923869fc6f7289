/**
 * What `wavenet info PATH` knows how to describe. Each kind of thing (dataset, run, checkpoint)
 * registers a describer here; the first whose `matches` accepts the path is used.
 */
import { datasetDescriber } from './dataset.js';
import { runDescriber, checkpointDescriber } from './run.js';

export interface InfoReport {
  text: string;
  json: unknown;
}

export interface Describer {
  kind: string;
  matches(path: string): boolean;
  describe(path: string): Promise<InfoReport>;
}

export const describers: Describer[] = [datasetDescriber, runDescriber, checkpointDescriber];
