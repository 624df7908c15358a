// The API reference page: Scalar's standalone bundle, loaded (as its own hashed file, script-src
// 'self') only when this page opens, given the OpenAPI document the operator attached.
import { useEffect, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, apiText, type Page } from '../api.ts';
import type { CatalogueApi } from '../types.ts';
import { ErrorMessage, Loading } from '../ui.tsx';

declare const __SCALAR_SCRIPT__: string;
declare const __SCALAR_STYLE__: string;

interface ScalarGlobal {
  createApiReference: (
    el: HTMLElement,
    config: {
      content: unknown;
      hideClientButton?: boolean;
      servers?: { url: string }[];
      withDefaultFonts?: boolean;
      telemetry?: boolean;
      agent?: { disabled?: boolean };
      showDeveloperTools?: 'never' | 'always' | 'localhost';
    },
  ) => { destroy?: () => void };
}

let loading: Promise<ScalarGlobal> | null = null;
function loadScalar(): Promise<ScalarGlobal> {
  loading ??= new Promise<ScalarGlobal>((resolve, reject) => {
    const style = document.createElement('link');
    style.rel = 'stylesheet';
    style.href = __SCALAR_STYLE__;
    document.head.append(style);
    const script = document.createElement('script');
    script.src = __SCALAR_SCRIPT__;
    script.onload = () => {
      const g = (window as unknown as { Scalar?: ScalarGlobal }).Scalar;
      if (g) resolve(g);
      else reject(new Error('The reference renderer did not load.'));
    };
    script.onerror = () => reject(new Error('The reference renderer could not be fetched.'));
    document.head.append(script);
  });
  return loading;
}

export default function ApiReference({ id }: { id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(null);
  const catalogue = useQuery({ queryKey: ['catalogue'], queryFn: () => api<Page<CatalogueApi>>('GET', '/portal/v1/apis') });
  // The document as the operator attached it (JSON or YAML text): Scalar reads either.
  const doc = useQuery({ queryKey: ['openapi', id], queryFn: () => apiText(`/portal/v1/apis/${id}/openapi`) });
  const entry = catalogue.data?.items.find((a) => a.id === id);
  useEffect(() => {
    const el = box.current;
    if (!el || !doc.data) return;
    let handle: { destroy?: () => void } | null = null;
    let cancelled = false;
    loadScalar()
      .then((scalar) => {
        if (cancelled) return;
        handle = scalar.createApiReference(el, {
          content: doc.data,
          hideClientButton: false,
          withDefaultFonts: false,
          // Scalar's hosted services (telemetry, its AI agent, its developer tools) would send
          // the operator's document to a third party; the portal's CSP blocks them in any case.
          telemetry: false,
          agent: { disabled: true },
          showDeveloperTools: 'never',
          ...(entry ? { servers: [{ url: entry.gatewayUrl }] } : {}),
        });
      })
      .catch(setError);
    return () => {
      cancelled = true;
      handle?.destroy?.();
    };
  }, [doc.data, entry]);
  return (
    <>
      <h1>{entry ? `${entry.name} reference` : 'API reference'}</h1>
      <p>
        <Link href="/developers/">Back to the catalogue</Link>
        {entry ? (
          <>
            {' '}
            · Base URL <code>{entry.gatewayUrl}</code>
          </>
        ) : null}
      </p>
      {doc.isPending ? <Loading what="the reference" /> : null}
      <ErrorMessage error={doc.error ?? error} />
      <div ref={box} className="reference" />
    </>
  );
}
