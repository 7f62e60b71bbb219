import { describe, expect, it } from 'vitest';
import { FuseboxState, switchRowsOf, type SwitchRow } from './fusebox';

const row = (scope: SwitchRow['scope'], name: string, enabled: boolean, projectId = '', databaseId = ''): SwitchRow => ({ scope, projectId, databaseId, name, enabled });

describe('fusebox decisions', () => {
  const cases: { title: string; rows: SwitchRow[]; cdc: boolean; pausedBy: ReturnType<FuseboxState['databasePausedBy']> }[] = [
    { title: 'no switch stored: everything on', rows: [], cdc: true, pausedBy: undefined },
    { title: 'switches stored as on', rows: [row('global', 'cdc_enabled', true), row('database', 'enabled', true, 'p', 'main')], cdc: true, pausedBy: undefined },
    { title: 'reader off does not pause sinks', rows: [row('global', 'cdc_enabled', false)], cdc: false, pausedBy: undefined },
    { title: 'global sink off pauses every database', rows: [row('global', 'sink_enabled', false)], cdc: true, pausedBy: 'global' },
    { title: 'project sink off', rows: [row('project', 'sink_enabled', false, 'p')], cdc: true, pausedBy: 'project' },
    { title: 'another project’s switch', rows: [row('project', 'sink_enabled', false, 'q')], cdc: true, pausedBy: undefined },
    { title: 'this database off', rows: [row('database', 'enabled', false, 'p', 'main')], cdc: true, pausedBy: 'database' },
    { title: 'a neighbour database off', rows: [row('database', 'enabled', false, 'p', 'other')], cdc: true, pausedBy: undefined },
    { title: 'same database id in another project', rows: [row('database', 'enabled', false, 'q', 'main')], cdc: true, pausedBy: undefined },
    { title: 'widest switch named', rows: [row('database', 'enabled', false, 'p', 'main'), row('global', 'sink_enabled', false)], cdc: true, pausedBy: 'global' },
  ];
  it.each(cases)('$title', ({ rows, cdc, pausedBy }) => {
    const state = new FuseboxState(rows);
    expect(state.cdcEnabled).toBe(cdc);
    expect(state.databasePausedBy('p', 'main')).toBe(pausedBy);
  });

  it('fingerprints ignore order and switches that are on', () => {
    const a = new FuseboxState([row('global', 'cdc_enabled', false), row('project', 'sink_enabled', false, 'p'), row('global', 'sink_enabled', true)]);
    const b = new FuseboxState([row('project', 'sink_enabled', false, 'p'), row('global', 'cdc_enabled', false)]);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(FuseboxState.allOn.fingerprint);
  });

  it('turns an update into rows, project switches only with a project', () => {
    expect(switchRowsOf({ global: { cdc_enabled: false }, project: { sink_enabled: true } }, 'p')).toEqual([
      row('global', 'cdc_enabled', false),
      row('project', 'sink_enabled', true, 'p'),
    ]);
    expect(switchRowsOf({ project: { sink_enabled: false } }, undefined)).toEqual([]);
    expect(switchRowsOf({}, 'p')).toEqual([]);
  });
});
