import { useEffect, useRef, type ReactNode } from 'react';

/** A native modal <dialog>: focus trap, Esc and inert background for free. */
export function Modal({ title, onClose, children, className, id }: { title: string; onClose(): void; children: ReactNode; className?: string; id: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className={`modal ${className ?? ''}`} onClose={onClose} aria-labelledby={`${id}-title`}>
      <div className="modal-head">
        <h2 id={`${id}-title`}>{title}</h2>
        <button className="btn icon" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}
