/**
 * `meta.properties` at the data root, as Kafka writes it: the cluster id and node id this directory belongs to.
 * A data directory written for another node id is refused, so two brokers never share one by mistake.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomUuid } from '../protocol/uuid.js';
import { fsyncDirectory } from '../storage/fs-util.js';
import { parseProperties } from './properties.js';

export interface MetaProperties {
  clusterId: string;
  nodeId: number;
  directoryId: string;
}

export function loadOrCreateMetaProperties(dataDir: string, nodeId: number): MetaProperties {
  const path = join(dataDir, 'meta.properties');
  if (existsSync(path)) {
    const props = parseProperties(readFileSync(path, 'utf8'));
    const clusterId = props.get('cluster.id');
    const storedNode = Number(props.get('node.id'));
    if (!clusterId) throw new Error(`${path} has no cluster.id`);
    if (storedNode !== nodeId) {
      throw new Error(`${path} belongs to node.id ${props.get('node.id')}, but this broker is node.id ${nodeId}`);
    }
    return { clusterId, nodeId, directoryId: props.get('directory.id') ?? randomUuid() };
  }
  const meta = { clusterId: randomUuid(), nodeId, directoryId: randomUuid() };
  const text = [
    '#',
    `#${new Date().toUTCString()}`,
    `cluster.id=${meta.clusterId}`,
    `directory.id=${meta.directoryId}`,
    `node.id=${nodeId}`,
    'version=1',
    '',
  ].join('\n');
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDirectory(dataDir);
  return meta;
}
