import type { KeyUsageView } from '../admin/responses.ts';
import type { ControlContext } from '../context.ts';
import { keysService } from './keys.ts';

/** What the usage counters say about a key. */
export const usageService = {
  /** Requests per UTC day, counts not yet flushed included (they are flushed first). */
  async requestsByDay(ctx: ControlContext, keyId: string): Promise<KeyUsageView> {
    const key = await keysService.get(ctx, keyId);
    await ctx.usage.flush();
    return { keyId: key.id, days: await ctx.store.usage.requestsByDay(key.id) };
  },
};
