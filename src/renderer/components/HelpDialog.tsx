import { SHORTCUTS } from '../shortcuts';
import { Modal } from './Modal';

export function HelpDialog({ onClose }: { onClose(): void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} id="help" className="help">
      <table className="shortcuts">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Does</th>
            <th scope="col">Where</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys + s.what}>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.what}</td>
              <td className="muted">{s.where}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        The knob runs from <strong>Faithful</strong> (0: stays close to the photo, soft) to <strong>Detailed</strong> (1: sharper,
        invents more). It moves the split point N where the coarse pass hands over to the fine one.
      </p>
    </Modal>
  );
}
