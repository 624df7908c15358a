// A resource's page that creates it (no id yet) or changes it: its stored value, the save (POST, or
// PATCH, which the admin API takes as a merge patch), the field errors, and its page once created.
import type { FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useLocation } from 'wouter';
import { api } from './api.ts';
import { fieldErrorsOf } from './ui.tsx';

export interface EditorOptions<T> {
  /** null: a new one. */
  id: string | null;
  /** The collection in the admin API, e.g. /admin/v1/policies. */
  path: string;
  /** The query key of one resource, by id. */
  itemKey: (id: string | null) => unknown[];
  /** Query keys a save makes stale (the lists). */
  listKey: unknown[];
  /** The console page of a resource, where a new one goes once created. */
  pageOf: (id: string) => string;
  /** The body to send, from the form as it is and the stored resource (none yet for a new one). */
  body: (existing: T | undefined) => unknown;
}

export function useResourceEditor<T extends { id: string }>({ id, path, itemKey, listKey, pageOf, body }: EditorOptions<T>) {
  const client = useQueryClient();
  const [, navigate] = useLocation();
  const existing = useQuery({ queryKey: itemKey(id), queryFn: () => api<T>('GET', `${path}/${id}`), enabled: id !== null });
  const save = useMutation({
    mutationFn: () => (id ? api<T>('PATCH', `${path}/${id}`, body(existing.data)) : api<T>('POST', path, body(undefined))),
    onSuccess: async (saved) => {
      await client.invalidateQueries({ queryKey: listKey });
      client.setQueryData(itemKey(saved.id), saved);
      if (!id) navigate(pageOf(saved.id));
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  // "Saved." speaks for the form as shown: the first change after a save takes it (and a stale error) away.
  const edited = () => {
    if (!save.isIdle && !save.isPending) save.reset();
  };
  return { existing, save, errors: fieldErrorsOf(save.error), submit, edited };
}
