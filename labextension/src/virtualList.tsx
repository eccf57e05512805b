/**
 * Fixed-row-height windowing: only the rows in (or near) the viewport are in
 * the DOM, so a list of 10,000+ models scrolls as smoothly as a list of ten.
 */
import * as React from 'react';

export interface IVirtualListProps {
  count: number;
  rowHeight: number;
  /** Extra rows rendered above and below the viewport. */
  overscan?: number;
  renderRow: (index: number) => React.ReactNode;
  /** Told which rows are visible, e.g. to fetch the pages they need. */
  onRangeChange?: (start: number, end: number) => void;
  className?: string;
}

export function VirtualList(props: IVirtualListProps) {
  const { count, rowHeight, renderRow, onRangeChange } = props;
  const overscan = props.overscan ?? 8;
  const viewport = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(400);

  React.useEffect(() => {
    const node = viewport.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight || 400));
    observer.observe(node);
    setHeight(node.clientHeight || 400);
    return () => observer.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);

  React.useEffect(() => {
    onRangeChange?.(first, last);
  }, [first, last, onRangeChange]);

  const rows: React.ReactNode[] = [];
  for (let index = first; index < last; index++) {
    rows.push(
      <div
        key={index}
        className="nbr-VirtualRow"
        style={{ position: 'absolute', top: index * rowHeight, height: rowHeight, left: 0, right: 0 }}
      >
        {renderRow(index)}
      </div>
    );
  }
  return (
    <div
      ref={viewport}
      className={`nbr-VirtualList ${props.className ?? ''}`}
      onScroll={event => setScrollTop((event.target as HTMLDivElement).scrollTop)}
    >
      <div style={{ position: 'relative', height: count * rowHeight }}>{rows}</div>
    </div>
  );
}
