/** The foot of every dialog form: the error line (read out when it changes), Cancel, and the submit button. */
export interface FormActionsProps {
  error: string | null | undefined;
  onCancel: () => void;
  /** The submit button's text. */
  submit: string;
  disabled?: boolean;
}

export function FormActions({ error, onCancel, submit, disabled }: FormActionsProps) {
  return (
    <>
      <p className="form-error" role="alert">
        {error ?? ''}
      </p>
      <div className="modal-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn primary" disabled={disabled}>
          {submit}
        </button>
      </div>
    </>
  );
}
