import type { ConsoleRole } from '../../domain/console-roles.ts';
import type { User } from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import { hashPassword } from '../../domain/password-hash.ts';
import { ControlError, iso, notFound, requireFound, type Actor, type ControlContext, type IdentityContext } from '../context.ts';
import type { UserView } from '../admin/identity-responses.ts';
import { auditedChange } from './audit-change.ts';
import { grantsService } from './grants.ts';
import { conflictAware } from './resource.ts';
import type { UserListQuery } from '../../store/port.ts';

export interface UserInput {
  username: string;
  name: string | null;
  password: string;
  roles: string[];
  mfaRequired: boolean;
  consoleRole: ConsoleRole | null;
  /** A portal sign-up waiting for an operator (portal.signup: approval). */
  pendingApproval?: boolean;
}

export interface UserPatch {
  name?: string | null | undefined;
  password?: string | undefined;
  roles?: string[] | undefined;
  disabled?: boolean | undefined;
  mfaRequired?: boolean | undefined;
  consoleRole?: ConsoleRole | null | undefined;
}

export function requireIdentity(ctx: ControlContext): IdentityContext {
  if (!ctx.identity)
    throw new ControlError('AUTHORIZATION_DISABLED', 'configure a master key (GATEHOUSE_MASTER_KEY_FILE) to manage users, clients and signing keys');
  return ctx.identity;
}

/** What the admin API and the audit log show of a user: never the password hash or TOTP secret. */
export function userView(user: User): UserView {
  const { passwordHash: _p, totp, createdAt, updatedAt, lastLoginAt, consoleRole, pendingApproval, ...rest } = user;
  return {
    ...rest,
    consoleRole: consoleRole ?? null,
    pendingApproval: pendingApproval ?? false,
    mfa: { enrolled: Boolean(totp?.confirmedAt), recoveryCodesLeft: totp?.confirmedAt ? totp.recoveryCodeHashes.length : 0 },
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
    lastLoginAt: iso(lastLoginAt),
  };
}

const audit = (actor: Actor, action: string, before: User | null, after: User | null, id: string) => ({
  ...actor,
  action: `user.${action}`,
  targetType: 'user' as const,
  targetId: id,
  ...auditedChange(userView, before, after),
});

async function newUser(ctx: ControlContext, input: UserInput): Promise<User> {
  requireIdentity(ctx);
  const now = ctx.clock();
  return {
    id: newId('user', now),
    username: input.username,
    name: input.name,
    passwordHash: await hashPassword(input.password),
    roles: [...new Set(input.roles)].sort(),
    disabled: false,
    mfaRequired: input.mfaRequired,
    consoleRole: input.consoleRole,
    ...(input.pendingApproval ? { pendingApproval: true } : {}),
    totp: null,
    createdAt: now,
    updatedAt: now,
    lastLoginAt: null,
  };
}

export const usersService = {
  async create(ctx: ControlContext, actor: Actor, input: UserInput): Promise<User> {
    const user = await newUser(ctx, input);
    await conflictAware('user', () => ctx.store.users.create(user, audit(actor, 'created', null, user, user.id)), 'has a username that is taken');
    return user;
  },

  /**
   * Creates the user only with spending a single-use record of the authorization server (a portal
   * invitation), in one store transaction: null, nothing created, when the record was spent already
   * or has expired; a name taken is a conflict that leaves the record unspent.
   */
  async createSpending(ctx: ControlContext, actor: Actor, input: UserInput, record: { model: string; id: string }): Promise<User | null> {
    const user = await newUser(ctx, input);
    const spend = { model: record.model, id: requireIdentity(ctx).oidcRecords.refOf(record.model, record.id), at: ctx.clock() };
    const created = await conflictAware(
      'user',
      () => ctx.store.users.createConsuming(user, audit(actor, 'created', null, user, user.id), spend),
      'has a username that is taken',
    );
    return created ? user : null;
  },

  async get(ctx: ControlContext, id: string): Promise<User> {
    return requireFound(await ctx.store.users.get(id), 'user', id);
  },

  list: (ctx: ControlContext, query: UserListQuery) => ctx.store.users.list(query),

  async update(ctx: ControlContext, actor: Actor, id: string, patch: UserPatch): Promise<User> {
    const existing = await usersService.get(ctx, id);
    const user: User = {
      ...existing,
      name: patch.name === undefined ? existing.name : patch.name,
      passwordHash: patch.password === undefined ? existing.passwordHash : await hashPassword(patch.password),
      roles: patch.roles === undefined ? existing.roles : [...new Set(patch.roles)].sort(),
      disabled: patch.disabled ?? existing.disabled,
      mfaRequired: patch.mfaRequired ?? existing.mfaRequired,
      consoleRole: patch.consoleRole === undefined ? (existing.consoleRole ?? null) : patch.consoleRole,
      updatedAt: ctx.clock(),
    };
    const action = patch.disabled === true && !existing.disabled ? 'disabled' : patch.password !== undefined ? 'password_changed' : 'updated';
    if (!(await ctx.store.users.update(user, audit(actor, action, existing, user, id)))) throw notFound('user', id);
    // A disabled user, a changed password or a newly required second factor ends every session and grant.
    const newlyMfa = usersService.mfaRequired(ctx, user) && !usersService.mfaRequired(ctx, existing);
    if ((user.disabled && !existing.disabled) || patch.password !== undefined || newlyMfa) await grantsService.revokeAllForUser(ctx, actor, id);
    return user;
  },

  async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
    const existing = await usersService.get(ctx, id);
    await grantsService.revokeAllForUser(ctx, actor, id);
    if (!(await ctx.store.users.delete(id, audit(actor, 'deleted', existing, null, id)))) throw notFound('user', id);
  },

  /** Removes the TOTP enrolment and recovery codes; the user enrols again at the next sign-in if MFA is required. */
  async resetMfa(ctx: ControlContext, actor: Actor, id: string): Promise<User> {
    const existing = await usersService.get(ctx, id);
    const user: User = { ...existing, totp: null, updatedAt: ctx.clock() };
    if (!(await ctx.store.users.update(user, audit(actor, 'mfa_reset', existing, user, id)))) throw notFound('user', id);
    return user;
  },

  /** Whether this user must pass a second factor: flagged one by one, or by a role. */
  mfaRequired(ctx: ControlContext, user: User): boolean {
    const roles = ctx.identity?.mfaRequiredRoles ?? [];
    return user.mfaRequired || user.roles.some((r) => roles.includes(r));
  },
};
