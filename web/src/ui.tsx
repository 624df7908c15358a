// Small accessible building blocks: every field has a label and its error beside it, problems show
// their sentence (never raw JSON), destructive actions confirm in a modal <dialog>.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api.ts';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A time in the user's own time zone (Intl), with the exact instant for machines. */
export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">never</span>;
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return <span>{at}</span>;
  return <time dateTime={d.toISOString()}>{dateTime.format(d)}</time>;
}

export const timeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The sentence of a problem (detail, else title); field errors go beside their fields. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.problem.code : undefined;
  return (
    <div className="error" role="alert">
      <strong>Could not complete this: </strong>
      {text}
      {code ? <span className="muted"> ({code})</span> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function fieldErrorsOf(error: unknown): Record<string, string> {
  return error instanceof ApiError ? error.fieldErrors() : {};
}

interface FieldProps {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  type?: string;
  required?: boolean;
  placeholder?: string;
  autoComplete?: string;
  inputMode?: 'numeric' | 'text';
}

/** A labelled input whose error (from the API's field errors) sits beside it and is announced. */
export function TextField({ label, name, value, onChange, error, hint, type = 'text', required, placeholder, autoComplete, inputMode }: FieldProps) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required ? <span aria-hidden="true"> *</span> : null}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        value={value}
        required={required}
        placeholder={placeholder}
        autoComplete={autoComplete ?? 'off'}
        inputMode={inputMode}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
      {error ? (
        <small id={`${id}-error`} className="field-error">
          {error}
        </small>
      ) : null}
    </div>
  );
}

export function SelectField({
  label,
  name,
  value,
  onChange,
  options,
  error,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
  error?: string | undefined;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {error ? (
        <small id={`${id}-error`} className="field-error">
          {error}
        </small>
      ) : null}
    </div>
  );
}

/**
 * A button that asks first: a modal dialog names what will stop working, and can hold inputs
 * (a reason). onConfirm returns a promise; the dialog stays open with the problem if it fails.
 */
export function ConfirmButton({
  label,
  title,
  consequence,
  confirmLabel,
  onConfirm,
  children,
  danger = true,
  canConfirm = true,
}: {
  label: string;
  title: string;
  consequence: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  children?: ReactNode;
  danger?: boolean;
  canConfirm?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const titleId = useId();
  const open = () => {
    setError(null);
    dialog.current?.showModal();
  };
  const close = () => dialog.current?.close();
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      close();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className={danger ? 'danger' : ''} onClick={open}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <h2 id={titleId}>{title}</h2>
        <div className="consequence">{consequence}</div>
        {children}
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button type="button" className={danger ? 'danger' : 'primary'} disabled={busy || !canConfirm} onClick={() => void confirm()}>
            {busy ? 'Working…' : (confirmLabel ?? label)}
          </button>
        </div>
      </dialog>
    </>
  );
}

/**
 * A secret shown once: the value, a copy button and a plain warning (`kept`: how Gatehouse keeps it, so
 * why it cannot show it again; `lost`: what to do without it).
 */
export function SecretOnce({
  secret,
  what = 'key',
  kept = 'it keeps only a hash',
  lost = `rotate the ${what}`,
}: {
  secret: string;
  what?: string;
  kept?: string;
  lost?: string;
}) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch (error) {
      console.warn('clipboard refused', error);
      setCopied('failed');
    }
  };
  return (
    <section className="secret" aria-label={`New ${what} secret`}>
      <p className="warning">
        <strong>Copy this {what} now.</strong> This is the only time Gatehouse shows it: {kept}. If you lose it, {lost}.
      </p>
      <div className="secret-row">
        <code data-testid="secret">{secret}</code>
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p role="status" aria-live="polite" className="muted">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'failed' ? 'The browser did not allow copying: select the text and copy it.' : ''}
      </p>
    </section>
  );
}

/** Pages through a cursor-paginated list: a stack of cursors, newer to older. */
export function useCursor(resetOn: string) {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  useEffect(() => setStack([null]), [resetOn]);
  const cursor = stack[stack.length - 1] ?? null;
  return {
    cursor,
    page: stack.length,
    next: (c: string) => setStack((s) => [...s, c]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

export function Pager({
  page,
  nextCursor,
  onNext,
  onPrevious,
}: {
  page: number;
  nextCursor: string | null | undefined;
  onNext: (c: string) => void;
  onPrevious: () => void;
}) {
  if (page === 1 && !nextCursor) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page === 1} onClick={onPrevious}>
        Previous
      </button>
      <span>Page {page}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && onNext(nextCursor)}>
        Next
      </button>
    </nav>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.replace(/[^a-z-]/g, '')}`}>{status}</span>;
}

/**
 * Rows of fields a person adds and removes (an API's route rules, a policy's rate limits), each row a
 * labelled group. `field(i, k)` hands a row's field its value setter.
 */
export function RowsEditor<R extends object>({
  legend,
  noun,
  short,
  rows,
  onChange,
  blank,
  readOnly,
  intro,
  children,
}: {
  legend: string;
  /** What one row is ("route rule"), and its short name on the remove button ("rule"). */
  noun: string;
  short: string;
  rows: R[];
  onChange: (rows: R[]) => void;
  blank: R;
  readOnly: boolean;
  intro?: ReactNode;
  children: (row: R, i: number, field: (k: keyof R) => (v: string) => void) => ReactNode;
}) {
  const field = (i: number) => (k: keyof R) => (v: string) => onChange(rows.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  const title = noun.charAt(0).toUpperCase() + noun.slice(1);
  return (
    <fieldset>
      <legend>{legend}</legend>
      {intro}
      {rows.map((r, i) => (
        <div className="card" key={i} role="group" aria-label={`${title} ${i + 1}`}>
          {children(r, i, field(i))}
          {readOnly ? null : (
            <button type="button" onClick={() => onChange(rows.filter((_, j) => j !== i))}>
              Remove {short} {i + 1}
            </button>
          )}
        </div>
      ))}
      {readOnly ? (
        rows.length === 0 ? (
          <p className="muted">No {noun}s.</p>
        ) : null
      ) : (
        <button type="button" onClick={() => onChange([...rows, blank])}>
          Add a {noun}
        </button>
      )}
    </fieldset>
  );
}
