// A webhook endpoint's delivery log, newest first, a page at a time: the console's (with a Replay
// column) and the developer portal's show the same table from their own API.
import type { ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, query, type Page } from './api.ts';
import type { WebhookDelivery } from './types.ts';
import { Empty, ErrorMessage, Loading, Pager, StatusBadge, Time, useCursor } from './ui.tsx';

/** The query key of the log at `path`: what a replay invalidates. */
export const deliveriesKey = (path: string) => ['webhook-deliveries', path];

export function DeliveryLog({
  path,
  empty = 'Nothing delivered yet.',
  extra,
}: {
  /** The deliveries route (`.../webhooks/{id}/deliveries`). */
  path: string;
  empty?: string;
  /** One more column, per delivery. */
  extra?: { head: string; cell: (d: WebhookDelivery) => ReactNode } | undefined;
}) {
  const pages = useCursor(path);
  const deliveries = useQuery({
    queryKey: [...deliveriesKey(path), pages.cursor],
    queryFn: () => api<Page<WebhookDelivery>>('GET', `${path}${query({ limit: 25, cursor: pages.cursor })}`),
  });
  if (deliveries.isPending) return <Loading what="deliveries" />;
  if (deliveries.isError) return <ErrorMessage error={deliveries.error} />;
  if (deliveries.data.items.length === 0) return <Empty>{empty}</Empty>;
  return (
    <>
      <table>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">At</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Last attempt</th>
            {extra ? <th scope="col">{extra.head}</th> : null}
          </tr>
        </thead>
        <tbody>
          {deliveries.data.items.map((d) => (
            <tr key={d.id}>
              <td>
                <code>{d.eventType}</code>
              </td>
              <td>
                <Time at={d.eventAt} />
              </td>
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td className="num">{d.attempts}</td>
              <td>
                <Time at={d.lastAttemptAt} />
              </td>
              {extra ? <td>{extra.cell(d)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager page={pages.page} nextCursor={deliveries.data.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}
