// A one-line progress bar on stderr (redrawn in place on a terminal, plain lines otherwise), so long
// scenario runs show that they are moving without polluting stdout (tables or --json).
export class ProgressBar {
  private doneCount = 0;
  private current = '';

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  label(name: string): void {
    this.current = name;
    this.draw();
  }

  tick(): void {
    this.doneCount = Math.min(this.total, this.doneCount + 1);
    this.draw();
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(): void {
    const width = 30;
    const filled = this.total === 0 ? width : Math.round((this.doneCount / this.total) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.doneCount}/${this.total} runs  ${this.current}`;
    if (this.stream.isTTY) this.stream.write(`\r${line.padEnd(90)}`);
    else this.stream.write(`${line}\n`);
  }
}
