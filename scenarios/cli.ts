// `npm run scenario`: the main command. The simulator and the scenario runner are built by later
// issues; until then this says so plainly instead of pretending to run anything.
console.error('mlx-serving: no scenario is available yet — the simulator (sim/) and scenario runner are not built.');
console.error('Run `npm test` to exercise core/, and `npm run bench:core` for the core benchmark.');
process.exit(2);
