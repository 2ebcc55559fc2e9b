// Preloaded (`node -r`) into each process the cli bench times: at exit, writes the CPU time the
// process used (user + system, start-up included) to fd 3, which the bench reads. On a busy
// machine this varies far less than wall time.
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  require('node:fs').writeSync(3, String((user + system) / 1000));
});
