import type { ConsoleRole } from '../../domain/console-roles.ts';
import type { AuditInput, User } from '../../domain/entities.ts';
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

/** A user as stored: the admin API's view without what follows from the configuration (mfa.required). */
export type StoredUserView = Omit<UserView, 'mfa'> & { mfa: Omit<UserView['mfa'], 'required'> };

/** The stored user as the audit log, events and (with userAnswer) the admin API show it: never the password hash or TOTP secret. */
export function userView(user: User): StoredUserView {
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

/**
 * What the admin API answers of a user: the stored view, and whether they must pass a second factor
 * now. That follows from the configuration as well as the user (a role, their console role), so an
 * admin sees a console role's requirement before the user next signs in.
 */
export function userAnswer(ctx: ControlContext, user: User): UserView {
  const view = userView(user);
  return { ...view, mfa: { required: usersService.mfaRequired(ctx, user), ...view.mfa } };
}

const audit = (actor: Actor, action: string, before: User | null, after: User | null, id: string) => ({
  ...actor,
  action: `user.${action}`,
  targetType: 'user' as const,
  targetId: id,
  ...auditedChange(userView, before, after),
});

/** Tries of a change to a user that others keep changing meanwhile, before it is answered 409. */
const CHANGE_ATTEMPTS = 5;

/**
 * Changes a user as read, and writes it only if nobody changed it since (its updatedAt): else reads it
 * again and makes the change anew. A change made meanwhile (an operator's disable, a second factor
 * enrolled, a recovery code spent) is built on, never written over with the copy read before it.
 */
export async function changeUser(
  ctx: ControlContext,
  id: string,
  change: (existing: User) => { user: User; audit: (user: User) => AuditInput },
): Promise<{ existing: User; user: User }> {
  for (let attempt = 0; attempt < CHANGE_ATTEMPTS; attempt++) {
    const existing = await usersService.get(ctx, id);
    const changed = change(existing);
    // The new version must differ from the one read, even within one millisecond.
    const user: User = { ...changed.user, updatedAt: Math.max(ctx.clock(), existing.updatedAt + 1) };
    if (await ctx.store.users.updateIfUnchanged(user, existing.updatedAt, changed.audit(user))) return { existing, user };
  }
  throw new ControlError('CONFLICT', 'the user was changed by other requests while this change was being made; nothing was changed: try again');
}

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
    const passwordHash = patch.password === undefined ? undefined : await hashPassword(patch.password);
    const { existing, user } = await changeUser(ctx, id, (existing) => {
      const user: User = {
        ...existing,
        name: patch.name === undefined ? existing.name : patch.name,
        passwordHash: passwordHash ?? existing.passwordHash,
        roles: patch.roles === undefined ? existing.roles : [...new Set(patch.roles)].sort(),
        disabled: patch.disabled ?? existing.disabled,
        mfaRequired: patch.mfaRequired ?? existing.mfaRequired,
        consoleRole: patch.consoleRole === undefined ? (existing.consoleRole ?? null) : patch.consoleRole,
      };
      const action = patch.disabled === true && !existing.disabled ? 'disabled' : patch.password !== undefined ? 'password_changed' : 'updated';
      return { user, audit: (stored) => audit(actor, action, existing, stored, id) };
    });
    // A disabled user, a changed password or a newly required second factor ends every session and grant.
    const newlyMfa = usersService.mfaRequired(ctx, user) && !usersService.mfaRequired(ctx, existing);
    if ((user.disabled && !existing.disabled) || patch.password !== undefined || newlyMfa) await grantsService.revokeAllForUser(ctx, actor, id);
    return user;
  },

  async delete(ctx: ControlContext, actor: Actor, id: string): Promise<void> {
    await usersService.get(ctx, id);
    await grantsService.revokeAllForUser(ctx, actor, id);
    if (!(await ctx.store.users.delete(id, (deleted) => audit(actor, 'deleted', deleted, null, id)))) throw notFound('user', id);
  },

  /**
   * Removes the TOTP enrolment and recovery codes, and ends every session and grant: a reset is asked
   * for when the device holding the factor is lost or stolen, and what was signed in with it must not
   * outlive it. The user enrols again at the next sign-in if MFA is required.
   */
  async resetMfa(ctx: ControlContext, actor: Actor, id: string): Promise<User> {
    const { user } = await changeUser(ctx, id, (existing) => ({
      user: { ...existing, totp: null },
      audit: (stored) => audit(actor, 'mfa_reset', existing, stored, id),
    }));
    await grantsService.revokeAllForUser(ctx, actor, id);
    return user;
  },

  /**
   * Whether this user must pass a second factor: flagged one by one, by a role, or by their console
   * role (admin and operator unless configured otherwise). Read at every sign-in and session check,
   * so a console role given later, or a TOTP reset, means enrolment at the next sign-in.
   */
  mfaRequired(ctx: ControlContext, user: User): boolean {
    const roles = ctx.identity?.mfaRequiredRoles ?? [];
    const consoleRoles = ctx.identity?.mfaRequiredConsoleRoles ?? [];
    const consoleRole = user.consoleRole ?? null;
    return user.mfaRequired || user.roles.some((r) => roles.includes(r)) || (consoleRole !== null && consoleRoles.includes(consoleRole));
  },
};
