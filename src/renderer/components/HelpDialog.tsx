import { SHORTCUTS } from '../shortcuts';
import { Modal } from './Modal';

export function HelpDialog({ onClose }: { onClose(): void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} id="help" className="help">
      <div className="shortcut-groups">
        {['Anywhere', 'Library', 'Photo'].map((where) => (
          <section key={where} aria-labelledby={`help-${where}`}>
            <h3 id={`help-${where}`}>{where === 'Photo' ? 'Photo view' : where}</h3>
            <table className="shortcuts">
              <tbody>
                {SHORTCUTS.filter((s) => s.where.split(', ')[0] === where || (where === 'Photo' && s.where.includes('photo'))).map((s) => (
                  <tr key={s.keys + s.what}>
                    <td>
                      <kbd>{s.keys}</kbd>
                    </td>
                    <td>{s.what}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))}
      </div>
      <p className="muted">
        The knob runs from <strong>Faithful</strong> (0: stays close to the photo, soft) to <strong>Detailed</strong> (1: sharper,
        invents more). It moves the split point N where the coarse pass hands over to the fine one.
      </p>
    </Modal>
  );
}
