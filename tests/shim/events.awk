# events.awk: reads `ctr events` lines and checks the order containerd's runtime v2
# README (seed 000) requires of a shim's task events, per container and process:
#   create < start < exit < delete for the init (delete right after create when never
#   started, and last), exec-added < exec-started < exit for an exec, paused/resumed
#   and oom between start and the init's exit, resumed after paused.
# Prints one line per violation and, with -v seq=ID, the compact sequence of container
# ID in the seed's notation; -v partial=1 for a capture that began mid-life: "create start exec-added(e1) exit(e1)[5] exit[137] delete[137]".
function field(name,   re, m) {
  re = "\"" name "\":(\"[^\"]*\"|[0-9]+)"
  if (match($0, re)) {
    m = substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
    gsub(/"/, "", m)
    return m
  }
  return ""
}
function bad(msg) { print "violation: " msg; violations++ }
{
  topic = ""
  for (i = 1; i <= NF; i++) if ($i ~ /^\/tasks\//) { topic = substr($i, 8); break }
  if (topic == "") next
  c = field("container_id"); if (c == "") next
  id = field("exec_id"); if (id == "") id = field("id"); if (id == "") id = c
  st = field("exit_status"); if (st == "") st = 0
  n = ++count[c]
  key = c SUBSEP id
  init = (id == c)
  # -v partial=1: the capture began mid-life; what came before it counts as done.
  if (partial && n == 1 && topic != "create") { created[c] = started[c] = -1 }
  if (partial && !init && !added[key] && topic != "exec-added") added[key] = estarted[key] = -1
  if (deleted[c]) bad(c ": " topic " after delete")
  if (topic == "create") {
    if (created[c]) bad(c ": second create")
    created[c] = n
  } else if (topic == "start") {
    if (!created[c]) bad(c ": start before create")
    started[c] = n
  } else if (topic == "exec-added") {
    if (!created[c]) bad(c ": exec-added(" id ") before create")
    added[key] = n
  } else if (topic == "exec-started") {
    if (!added[key]) bad(c ": exec-started(" id ") before exec-added")
    estarted[key] = n
  } else if (topic == "exit") {
    if (exited[key]) bad(c ": second exit of " id)
    if (init && !started[c] && !created[c]) bad(c ": exit before create")
    if (init && !started[c] && created[c]) { }  # killed before start: allowed
    if (!init && !estarted[key]) bad(c ": exit(" id ") before exec-started")
    exited[key] = n
  } else if (topic == "delete") {
    if (started[c] && !exited[c SUBSEP c]) bad(c ": delete before exit")
    deleted[c] = n
  } else if (topic == "paused") {
    if (!started[c] || exited[c SUBSEP c]) bad(c ": paused outside start..exit")
    paused[c] = n
  } else if (topic == "resumed") {
    if (!paused[c] || paused[c] > n) bad(c ": resumed before paused")
    if (exited[c SUBSEP c]) bad(c ": resumed after exit")
  } else if (topic == "oom") {
    if (!started[c] || exited[c SUBSEP c]) bad(c ": oom outside start..exit")
  }
  word = topic
  if (!init) word = word "(" id ")"
  if (topic == "exit" || topic == "delete") word = word "[" st "]"
  sequence[c] = sequence[c] (sequence[c] == "" ? "" : " ") word
}
END {
  for (c in created) total++
  if (seq != "") print "sequence: " sequence[seq]
  print "containers: " total + 0 " violations: " violations + 0
  exit violations > 0
}
