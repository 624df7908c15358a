// The signed-in user, from /bff/session (the server holds the tokens; the browser holds one cookie).
import { createContext, useContext, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, ApiError, setCsrfToken } from './api.ts';
import type { Session } from './types.ts';
import { ErrorMessage, Loading } from './ui.tsx';

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** Whether the signed-in user may do this (the same permission the admin API checks). */
export function useCan(permission: string): boolean {
  return useSession().permissions.includes(permission);
}

/** Renders children with a session, or `signedOut` when there is none (401 SESSION_REQUIRED). */
export function SessionGate({ children, signedOut }: { children: ReactNode; signedOut: ReactNode }) {
  const session = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const s = await api<Session>('GET', '/bff/session', undefined, { allow401: true });
        setCsrfToken(s.csrfToken);
        return s;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
  if (session.isPending) return <Loading what="your session" />;
  if (session.isError) return <ErrorMessage error={session.error} />;
  if (!session.data) return <>{signedOut}</>;
  return <SessionContext.Provider value={session.data}>{children}</SessionContext.Provider>;
}
