// The audit log: who changed what, newest first, filtered by target or action.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useSearch } from 'wouter';
import { api, query, type Page } from '../api.ts';
import type { AuditEntry } from '../types.ts';
import { Empty, ErrorMessage, Loading, Pager, TextField, Time, useCursor } from '../ui.tsx';

export function AuditLog() {
  const search = new URLSearchParams(useSearch());
  const [targetId, setTargetId] = useState(search.get('targetId') ?? '');
  const [action, setAction] = useState(search.get('action') ?? '');
  const pages = useCursor(targetId + '|' + action);
  const list = useQuery({
    queryKey: ['audit', targetId, action, pages.cursor],
    queryFn: () =>
      api<Page<AuditEntry>>('GET', `/admin/v1/audit${query({ targetId: targetId.trim(), action: action.trim(), limit: 50, cursor: pages.cursor })}`),
  });
  return (
    <>
      <h1>Audit log</h1>
      <form className="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <TextField label="Target id" name="targetId" value={targetId} onChange={setTargetId} placeholder="key_…, app_…" />
        <TextField label="Action" name="action" value={action} onChange={setAction} placeholder="key.revoked" />
      </form>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <Loading what="the audit log" />
      ) : list.data && list.data.items.length === 0 ? (
        <Empty>No entries match.</Empty>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Time at={e.at} />
                  </td>
                  <td>{e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {e.targetType} <code>{e.targetId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={pages.page} nextCursor={list.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}
