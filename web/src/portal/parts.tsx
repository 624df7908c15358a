// Pieces the portal's app page repeats: a secret shown once in its own panel, lists of checkboxes.
import type { ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { SecretOnce } from '../ui.tsx';
import { catalogueQuery } from './portal-types.ts';

export interface ShownSecret {
  /** What happened, as the panel's heading ("Key created."). */
  what: string;
  secret: string;
  /** The secret's kind in the warning ("key", "client secret"), and how Gatehouse keeps it. */
  kind?: string;
  kept?: string;
}

/** A new secret with its warning and copy button; Done hides it for good. */
export function SecretPanel({ shown, onDone, id }: { shown: ShownSecret; onDone: () => void; id: string }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{shown.what}</h2>
      <SecretOnce secret={shown.secret} {...(shown.kind ? { what: shown.kind } : {})} {...(shown.kept ? { kept: shown.kept } : {})} />
      <button type="button" onClick={onDone}>
        Done
      </button>
    </section>
  );
}

/** Checkboxes in a fieldset: which of `options` are chosen. */
export function CheckList({
  legend,
  options,
  chosen,
  onChange,
  error,
}: {
  legend: ReactNode;
  options: { value: string; label: string }[];
  chosen: string[];
  onChange: (chosen: string[]) => void;
  error?: string | undefined;
}) {
  return (
    <fieldset className="checks">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o.value} className="check">
          <input
            type="checkbox"
            checked={chosen.includes(o.value)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, o.value] : chosen.filter((x) => x !== o.value))}
          />
          {o.label}
        </label>
      ))}
      {error ? <small className="field-error">{error}</small> : null}
    </fieldset>
  );
}

/** The catalogue's APIs to choose from (none chosen: all of them, as the portal API takes it); nothing while the catalogue is empty. */
export function CatalogueChecks({ chosen, onChange, error }: { chosen: string[]; onChange: (chosen: string[]) => void; error?: string | undefined }) {
  const catalogue = useQuery(catalogueQuery);
  if (!catalogue.data?.items.length) return null;
  return (
    <CheckList
      legend="APIs (none chosen: every API of the catalogue)"
      options={catalogue.data.items.map((a) => ({ value: a.id, label: a.name }))}
      chosen={chosen}
      onChange={onChange}
      error={error}
    />
  );
}
