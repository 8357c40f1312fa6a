/* The Landlock sandbox of the serving phase (see sandbox.h). Raw system calls: glibc has no wrappers, and
 * Debian's kernel headers predate the network rules, so what newer ABIs added is defined here. */
#include "sandbox.h"
#include "ocsp_client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
/* built with a sanitizer: its reports must not be lost to the sandbox */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define TW_SANITIZED 1
#endif
#endif

#define TW_LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define TW_LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define TW_LANDLOCK_RULE_NET_PORT 2

/* The kernel's structures as of ABI 4 (the system header may be older); a kernel takes a shorter or
 * longer one as long as the bytes it does not know are zero. */
struct tw_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

struct tw_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_LOG (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_TRUNCATE)
#define FS_DEV (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define FS_SOCK (LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE)
/* the rights a rule on a file (not a directory) may carry */
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
			LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* the rights the start-up line names the directories of (devices such as /dev/null are not listed) */
#define FS_WRITES (LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE)

/* Read at any reload, whatever the configuration: names and ports are looked up (getaddrinfo, with the
 * NSS modules nsswitch.conf names), socket owners by name, and the time zone for log lines. */
static const char *const name_service_files[] = {
	"/etc/resolv.conf", "/etc/hosts",  "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf",
	"/etc/services",    "/etc/passwd", "/etc/group",         "/etc/localtime", "/etc/ld.so.cache",
};
static const char *const nss_module_globs[] = { "/usr/lib/*/libnss_*.so*", "/lib/*/libnss_*.so*",
						"/usr/lib64/libnss_*.so*", "/lib64/libnss_*.so*" };
#define SYSTEM_TRUST_DIR "/etc/ssl/certs" /* tls.c's system trust store, for client services on any reload */

static void set_port(uint8_t *map, int *n, unsigned port)
{
	if (!(map[port / 8] & (1u << (port % 8))))
		(*n)++;
	map[port / 8] |= (uint8_t)(1u << (port % 8));
}

static int has_port(const uint8_t *map, unsigned port)
{
	return (map[port / 8] >> (port % 8)) & 1;
}

/* A new rule for PATH (copied), or NULL when out of memory. */
static struct sandbox_rule *new_rule(struct sandbox *sb, const char *path, uint64_t access, int dir, int fd)
{
	if (sb->nrules == sb->cap) {
		size_t cap = sb->cap ? sb->cap * 2 : 32;
		struct sandbox_rule *r = realloc(sb->rules, cap * sizeof(*r));
		if (!r)
			return NULL;
		sb->rules = r;
		sb->cap = cap;
	}
	struct sandbox_rule *r = &sb->rules[sb->nrules];
	if (!(r->path = strdup(path)))
		return NULL;
	r->access = access;
	r->dir = dir;
	r->fd = fd;
	r->seen = 0;
	sb->nrules++;
	return r;
}

/* ACCESS beneath or on PATH (symbolic links resolved); a path that does not exist is left out. */
static int add_rule(struct sandbox *sb, const char *path, uint64_t access)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(path, real) || stat(real, &st) < 0)
		return 0;
	for (size_t i = 0; i < sb->nrules; i++)
		if (sb->rules[i].fd < 0 && strcmp(sb->rules[i].path, real) == 0) {
			sb->rules[i].access |= access;
			return 0;
		}
	return new_rule(sb, real, access, S_ISDIR(st.st_mode), -1) ? 0 : -1;
}

/* The directory PATH is in (which may not exist yet: a log file to be created). */
static void dir_of(const char *path, char *dir, size_t len)
{
	snprintf(dir, len, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/* ACCESS beneath the directory FD (-1: none) of the file NAME: the pid file's directory, opened before
 * a chroot that may have left it outside. */
static int add_rule_fd(struct sandbox *sb, int fd, const char *name, uint64_t access)
{
	char dir[PATH_MAX];
	if (fd < 0 || !name)
		return 0;
	dir_of(name, dir, sizeof(dir));
	return new_rule(sb, dir, access, 1, fd) ? 0 : -1;
}

static int add_dir_of(struct sandbox *sb, const char *path, uint64_t access)
{
	char dir[PATH_MAX], real[PATH_MAX];
	if (!path)
		return 0;
	/* the file's own directory once links are resolved: there the next version of it will be. A
	 * relative name that leads nowhere ("command line" for flags) names no directory. */
	const char *named = path;
	if (realpath(path, real))
		path = real;
	else if (path[0] != '/')
		return 0;
	dir_of(path, dir, sizeof(dir));
	if (add_rule(sb, dir, access) < 0)
		return -1;
	/* and the directory of the link named (absolute, not "/"): a Kubernetes secret volume flips its
	 * "..data" link to a new directory beside the old one */
	if (path == named || named[0] != '/')
		return 0;
	dir_of(named, dir, sizeof(dir));
	return strcmp(dir, "/") == 0 ? 0 : add_rule(sb, dir, access);
}

/* CApath, CRLpath: the directory, and where its symbolic links lead (/etc/ssl/certs links into
 * /usr/share/ca-certificates). */
static int add_dir_and_targets(struct sandbox *sb, const char *dir, uint64_t access)
{
	if (!dir)
		return 0;
	if (add_rule(sb, dir, access) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		char p[PATH_MAX];
		if (e->d_type != DT_LNK || snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
			continue;
		rc = add_dir_of(sb, p, LANDLOCK_ACCESS_FS_READ_FILE);
	}
	closedir(d);
	return rc;
}

static int is_numeric_host(const char *h)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* keyPasswordFile when it is a path; a name without '/' is a systemd credential, under
 * $CREDENTIALS_DIRECTORY, which sandbox_plan allows as a whole */
static const char *pass_file(const struct cfg_service *s)
{
	return s->key_password_file && strchr(s->key_password_file, '/') ? s->key_password_file : NULL;
}

/* The rules of one service's files and ports. */
static int plan_service(struct sandbox *sb, const struct cfg_service *s, int *names)
{
	const char *files[] = { s->cert, s->key, s->cafile, s->crlfile, s->ticket_key_file, s->psk_secrets,
				pass_file(s) };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (add_dir_of(sb, files[i], LANDLOCK_ACCESS_FS_READ_FILE) < 0)
			return -1;
	if (add_dir_and_targets(sb, s->capath, FS_READ) < 0 || add_dir_and_targets(sb, s->crlpath, FS_READ) < 0)
		return -1;
	if (s->exec && !sb->exec[0])
		snprintf(sb->exec, sizeof(sb->exec), "%s", s->name);
	if (s->has_accept && s->accept.path[0] && add_dir_of(sb, s->accept.path, FS_SOCK) < 0)
		return -1;
	if (s->has_accept && !s->accept.path[0] && s->primary < 0)
		set_port(sb->bind, &sb->nbind, (unsigned)atoi(s->accept.port));
	for (int i = 0; i < s->n_connect; i++) {
		if (s->connect[i].path[0])
			continue;
		set_port(sb->connect, &sb->nconnect, (unsigned)atoi(s->connect[i].port));
		*names |= s->delay || !is_numeric_host(s->connect[i].host);
	}
	if (s->local) /* the source address of outgoing connections: bound to port 0 */
		set_port(sb->bind, &sb->nbind, 0);
	char host[256], port[8], path[256], why[256];
	if (s->ocsp_url && ocsp_parse_url(s->ocsp_url, host, port, path, why, sizeof(why)) == 0) {
		set_port(sb->connect, &sb->nconnect, (unsigned)atoi(port));
		*names |= !is_numeric_host(host);
	} else if (s->ocsp_aia > 0 && !sb->aia[0]) {
		snprintf(sb->aia, sizeof(sb->aia), "%s", s->name);
	}
	return 0;
}

#ifdef TW_SANITIZED
/* Where a sanitizer writes its reports: log_path=DIR/prefix in *SAN_OPTIONS (':', ',' or ' ' between
 * options). Only a sanitized build reads it: the reports must not be lost to the sandbox. */
static const char *sanitizer_report_path(char *buf, size_t len)
{
	static const char *const vars[] = { "TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]), *p;
		for (p = v; p && (p = strstr(p, "log_path=")); p++)
			if (p == v || p[-1] == ':' || p[-1] == ',' || p[-1] == ' ')
				break;
		if (!p)
			continue;
		p += strlen("log_path=");
		size_t n = strcspn(p, ": ,");
		if (n == 0 || n >= len || *p != '/') /* stderr, stdout, or relative to a directory we left */
			continue;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}
#endif

int sandbox_plan(struct sandbox *sb, const struct cfg *cfg, const struct sandbox_start *st)
{
	int names = 0;
	memset(sb, 0, sizeof(*sb));
	/* the configuration and its includes (whose directory is an include's DIR): re-read by SIGHUP */
	if (add_dir_of(sb, cfg->file, FS_READ) < 0)
		goto err0;
	for (int i = 0; i < cfg->files.n; i++)
		if (add_dir_of(sb, cfg->files.v[i], FS_READ) < 0)
			goto err0;
	for (size_t i = 0; i < cfg->nsvc; i++)
		if (plan_service(sb, &cfg->svc[i], &names) < 0)
			goto err0;
	if (add_dir_and_targets(sb, SYSTEM_TRUST_DIR, FS_READ) < 0)
		goto err0;
	/* systemd's credentials (an encrypted key's passphrase), read again by each reload */
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	if (creds && *creds == '/' && add_dir_and_targets(sb, creds, FS_READ) < 0)
		goto err0;
	for (size_t i = 0; i < sizeof(name_service_files) / sizeof(name_service_files[0]); i++)
		if (add_rule(sb, name_service_files[i], LANDLOCK_ACCESS_FS_READ_FILE) < 0)
			goto err0;
	for (size_t i = 0; i < sizeof(nss_module_globs) / sizeof(nss_module_globs[0]); i++) {
		glob_t gl;
		if (glob(nss_module_globs[i], 0, NULL, &gl) != 0)
			continue;
		for (size_t k = 0; k < gl.gl_pathc; k++)
			if (add_rule(sb, gl.gl_pathv[k], LANDLOCK_ACCESS_FS_READ_FILE) < 0) {
				globfree(&gl);
				goto err0;
			}
		globfree(&gl);
	}
	if (add_rule(sb, "/dev/null", FS_DEV) < 0) /* the log's stand-in for stderr */
		goto err0;
	if (names) /* a DNS answer too long for UDP comes over TCP */
		set_port(sb->connect, &sb->nconnect, 53);
	if (add_dir_of(sb, st->output, FS_LOG) < 0 || add_dir_of(sb, st->status_path, FS_SOCK) < 0 ||
	    add_rule_fd(sb, st->pid_dirfd, st->pidfile, LANDLOCK_ACCESS_FS_REMOVE_FILE) < 0)
		goto err0;
#ifdef TW_SANITIZED
	/* a report is a file opened when it is written (log_path); LeakSanitizer reads /proc/self/maps and
	 * tasks at exit; symbolizing reads the binary and libraries and may run llvm-symbolizer */
	char self[64];
	snprintf(self, sizeof(self), "/proc/%ld", (long)getpid());
	if (add_rule(sb, self, FS_READ) < 0 || add_rule(sb, "/proc/self/exe", LANDLOCK_ACCESS_FS_READ_FILE) < 0 ||
	    add_rule(sb, "/usr", FS_READ | LANDLOCK_ACCESS_FS_EXECUTE) < 0)
		goto err0;
	if (sanitizer_report_path(sb->reports, sizeof(sb->reports)) &&
	    add_dir_of(sb, sb->reports, FS_LOG | FS_READ | LANDLOCK_ACCESS_FS_REMOVE_FILE) < 0)
		goto err0;
#endif
	return 0;
err0:
	sandbox_free(sb);
	return -1;
}

/* ---- enforcing -------------------------------------------------------------------------------------- */

static int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

/* The filesystem rights the running kernel knows: those of a newer ABI would be refused (EINVAL). */
static uint64_t fs_handled(int abi)
{
	uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return fs;
}

static void port_list(const uint8_t *map, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned p = 0; p < 65536 && used < len; p++)
		if (has_port(map, p))
			used += (size_t)snprintf(buf + used, len - used, "%s%u", used ? " " : "", p);
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* A sanitized build: can a report still be written where log_path says? Tried once the sandbox is in
 * force, so a report at exit is not lost unnoticed. */
static const char *reports_writable(const struct sandbox *sb, char *buf, size_t len)
{
	char dir[PATH_MAX], probe[PATH_MAX + 64];
	dir_of(sb->reports, dir, sizeof(dir));
	snprintf(probe, sizeof(probe), "%s/.tlswrap-sandbox-probe.%ld", dir, (long)getpid());
	int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(buf, len, ", sanitizer reports NOT writable in %s: %s", dir, strerror(errno));
		return buf;
	}
	close(fd);
	if (unlink(probe) < 0) /* a file left there would pass for a report */
		snprintf(buf, len, ", sanitizer reports writable in %s but the probe %s not removed: %s", dir, probe,
			 strerror(errno));
	else
		snprintf(buf, len, ", sanitizer reports writable in %s", dir);
	return buf;
}

static void describe(const struct sandbox *sb, char *line, size_t len)
{
	char bind[512], conn[512], writes[1024] = "", reports[3 * PATH_MAX] = "";
	int nread = 0;
	size_t n;
	for (size_t i = 0; i < sb->nrules; i++) {
		if (sb->rules[i].access & FS_READ)
			nread++;
		if (sb->rules[i].access & FS_WRITES)
			snprintf(writes + strlen(writes), sizeof(writes) - strlen(writes), "%s%s", writes[0] ? " " : "",
				 sb->rules[i].path);
	}
	if (sb->fs)
		n = (size_t)snprintf(line, len, "sandbox: Landlock ABI %d: filesystem read-only under %d paths%s%s%s",
				     sb->abi, nread, writes[0] ? ", write/create/remove under " : "", writes,
				     sb->reports[0] ? reports_writable(sb, reports, sizeof(reports)) : "");
	else
		n = (size_t)snprintf(line, len, "sandbox: Landlock ABI %d: filesystem not restricted ([%s] runs exec "
				     "programs, which inherit the sandbox)", sb->abi, sb->exec);
	if (n >= len)
		return;
	if (!sb->net) {
		snprintf(line + n, len - n, "; TCP not restricted (Landlock ABI %d has no network rules)", sb->abi);
		return;
	}
	port_list(sb->bind, bind, sizeof(bind));
	port_list(sb->connect, conn, sizeof(conn));
	if (sb->aia[0])
		snprintf(line + n, len - n, ", bind ports %s, connect not restricted ([%s] asks the OCSP responders "
			 "certificates name, OCSPaia)", bind, sb->aia);
	else
		snprintf(line + n, len - n, ", bind ports %s, connect ports %s", bind, conn);
}

static int add_net_rules(int fd, const uint8_t *map, uint64_t access)
{
	for (unsigned p = 0; p < 65536; p++) {
		struct tw_net_port_attr a = { .allowed_access = access, .port = p };
		if (has_port(map, p) && syscall(SYS_landlock_add_rule, fd, TW_LANDLOCK_RULE_NET_PORT, &a, 0) < 0)
			return -1;
	}
	return 0;
}

static int add_fs_rules(struct sandbox *sb, int fd, uint64_t handled, char *line, size_t len)
{
	for (size_t i = 0; i < sb->nrules; i++) {
		struct sandbox_rule *r = &sb->rules[i];
		struct landlock_path_beneath_attr pb = { .allowed_access = r->access & handled };
		if (!r->dir)
			pb.allowed_access &= FS_FILE_RIGHTS;
		r->access = pb.allowed_access; /* what the reload check may count on */
		if (!pb.allowed_access || (pb.parent_fd = r->fd >= 0 ? r->fd : open(r->path, O_PATH | O_CLOEXEC)) < 0)
			continue;
		int rc = (int)syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		int e = errno;
		struct stat st;
		if (rc == 0 && r->fd < 0 && fstat(pb.parent_fd, &st) == 0) {
			r->seen = 1;
			r->dev = st.st_dev;
			r->ino = st.st_ino;
		}
		if (r->fd < 0)
			close(pb.parent_fd);
		if (rc < 0) {
			snprintf(line, len, "sandbox: Landlock ABI %d: rule for %s: %s", sb->abi, r->path, strerror(e));
			return -1;
		}
	}
	return 0;
}

int sandbox_apply(struct sandbox *sb, int enabled, char *line, size_t len)
{
	if (!enabled) {
		snprintf(line, len, "sandbox: not applied (sandbox = no)");
		return 0;
	}
	sb->abi = landlock_abi();
	if (sb->abi <= 0) {
		snprintf(line, len, "sandbox: not applied: the kernel offers no Landlock (%s)",
			 errno == EOPNOTSUPP ? "disabled at boot" : errno == ENOSYS ? "not built in" : strerror(errno));
		return 0;
	}
	/* exec programs start inside the sandbox and may need anything: no filesystem rules for them */
	struct tw_ruleset_attr attr = { .handled_access_fs = sb->exec[0] ? 0 : fs_handled(sb->abi) };
	if (sb->abi >= 4)
		attr.handled_access_net = TW_LANDLOCK_ACCESS_NET_BIND_TCP |
					  (sb->aia[0] ? 0 : TW_LANDLOCK_ACCESS_NET_CONNECT_TCP);
	if (!attr.handled_access_fs && !attr.handled_access_net) {
		snprintf(line, len, "sandbox: not applied: [%s] runs exec programs, which would inherit the filesystem "
			 "rules, and Landlock ABI %d has no network rules", sb->exec, sb->abi);
		return 0;
	}
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0) {
		snprintf(line, len, "sandbox: Landlock ABI %d: cannot create a ruleset: %s", sb->abi, strerror(errno));
		return -1;
	}
	if (attr.handled_access_fs && add_fs_rules(sb, fd, attr.handled_access_fs, line, len) < 0)
		goto err0;
	if (attr.handled_access_net &&
	    (add_net_rules(fd, sb->bind, TW_LANDLOCK_ACCESS_NET_BIND_TCP) < 0 ||
	     (!sb->aia[0] && add_net_rules(fd, sb->connect, TW_LANDLOCK_ACCESS_NET_CONNECT_TCP) < 0))) {
		snprintf(line, len, "sandbox: Landlock ABI %d: port rule: %s", sb->abi, strerror(errno));
		goto err0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
		snprintf(line, len, "sandbox: Landlock ABI %d: cannot restrict the process: %s", sb->abi, strerror(errno));
		goto err0;
	}
	close(fd);
	sb->fs = attr.handled_access_fs != 0;
	sb->net = attr.handled_access_net != 0;
	sb->net_connect = sb->net && !sb->aia[0];
	describe(sb, line, len);
	return 0;
err0:
	close(fd);
	return -1;
}

/* ---- reload ------------------------------------------------------------------------------------------ */

/* Does R's path name another inode than the one the rule was given for (the directory deleted and made
 * again, or another renamed over it)? Landlock keeps the rule on the old one. */
static int replaced(const struct sandbox_rule *r)
{
	struct stat st;
	return r->seen && (stat(r->path, &st) < 0 || st.st_dev != r->dev || st.st_ino != r->ino);
}

/* The rights the rules give on PATH (a resolved path): those of every rule on it or above it, whose
 * inode is still there. *GONE: a replaced one that would have given ACCESS, or NULL. */
static uint64_t rights_on(const struct sandbox *sb, const char *path, uint64_t access, const char **gone)
{
	uint64_t have = 0;
	*gone = NULL;
	for (size_t i = 0; i < sb->nrules; i++) {
		const struct sandbox_rule *r = &sb->rules[i];
		size_t n = strlen(r->path);
		if (strcmp(r->path, path) != 0 &&
		    !(r->dir && strncmp(r->path, path, n) == 0 && (path[n] == '/' || strcmp(r->path, "/") == 0)))
			continue;
		if (!replaced(r))
			have |= r->access;
		else if (!*gone && (r->access & access) == access)
			*gone = r->path;
	}
	return have;
}

#define REPLACED \
	"was replaced since start; the sandbox (sandbox = yes) keeps the one it saw: restart tlswrap to use the new one"
#define OUTSIDE "is outside the sandbox set at start (sandbox = yes); restart tlswrap to use it"

/* PATH (named by OPTION of S) needs ACCESS: -1 with ERR set when the sandbox does not give it. A path
 * that does not exist is for the loader to report. With PARENT the right is needed in PATH's directory. */
static int check_path(const struct sandbox *sb, const struct cfg_service *s, const char *option, const char *path,
		      uint64_t access, int parent, char *err, size_t errlen)
{
	char real[PATH_MAX], dir[PATH_MAX], where[300];
	if (!path)
		return 0;
	const char *p = realpath(path, real) ? real : NULL;
	if (parent) {
		dir_of(p ? p : path, dir, sizeof(dir));
		p = realpath(dir, real) ? real : NULL;
	}
	const char *gone;
	if (!p || (rights_on(sb, p, access, &gone) & access) == access)
		return 0;
	if (gone) {
		snprintf(err, errlen, "%s: [%s] %s %s: directory %s " REPLACED,
			 cfg_where_option(s, option, where, sizeof(where)), s->name, option, path, gone);
		return -1;
	}
	snprintf(err, errlen, "%s: [%s] %s %s " OUTSIDE, cfg_where_option(s, option, where, sizeof(where)), s->name,
		 option, path);
	return -1;
}

/* CApath/CRLpath: the directory and where its links lead. */
static int check_dir(const struct sandbox *sb, const struct cfg_service *s, const char *option, const char *dir,
		     char *err, size_t errlen)
{
	if (!dir)
		return 0;
	if (check_path(sb, s, option, dir, FS_READ, 0, err, errlen) < 0)
		return -1;
	DIR *d = opendir(dir);
	int rc = 0;
	for (struct dirent *e; d && rc == 0 && (e = readdir(d));) {
		char p[PATH_MAX];
		if (e->d_type == DT_LNK && snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
			rc = check_path(sb, s, option, p, LANDLOCK_ACCESS_FS_READ_FILE, 0, err, errlen);
	}
	if (d)
		closedir(d);
	return rc;
}

static int check_port(const struct cfg_service *s, const char *option, int nth, const char *what, unsigned port,
		      char *err, size_t errlen)
{
	char where[300];
	snprintf(err, errlen, "%s: [%s] %s port %u " OUTSIDE, cfg_where_nth(s, option, nth, where, sizeof(where)),
		 s->name, what, port);
	return -1;
}

int sandbox_check_reload(const struct sandbox *sb, const struct cfg *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; sb->fs && i < cfg->nsvc; i++) {
		const struct cfg_service *s = &cfg->svc[i];
		static const char *const names[] = { "cert", "key", "CAfile", "CRLfile", "ticketKeyFile", "PSKsecrets",
						     "keyPasswordFile" };
		const char *files[] = { s->cert, s->key, s->cafile, s->crlfile, s->ticket_key_file, s->psk_secrets,
					pass_file(s) };
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			if (check_path(sb, s, names[k], files[k], LANDLOCK_ACCESS_FS_READ_FILE, 0, err, errlen) < 0)
				return -1;
		if (check_dir(sb, s, "CApath", s->capath, err, errlen) < 0 ||
		    check_dir(sb, s, "CRLpath", s->crlpath, err, errlen) < 0 ||
		    check_path(sb, s, "exec", s->exec, LANDLOCK_ACCESS_FS_EXECUTE, 0, err, errlen) < 0)
			return -1;
		if (s->has_accept && s->accept.path[0] &&
		    check_path(sb, s, "accept", s->accept.path, FS_SOCK, 1, err, errlen) < 0)
			return -1;
	}
	for (size_t i = 0; sb->net && i < cfg->nsvc; i++) {
		const struct cfg_service *s = &cfg->svc[i];
		unsigned port;
		if (s->has_accept && !s->accept.path[0] && s->primary < 0 &&
		    !has_port(sb->bind, port = (unsigned)atoi(s->accept.port)))
			return check_port(s, "accept", 0, "accept", port, err, errlen);
		for (int k = 0; sb->net_connect && k < s->n_connect; k++)
			if (!s->connect[k].path[0] && !has_port(sb->connect, port = (unsigned)atoi(s->connect[k].port)))
				return check_port(s, "connect", k, "connect", port, err, errlen);
		char host[256], oport[8], path[256], why[256];
		if (sb->net_connect && s->ocsp_url && ocsp_parse_url(s->ocsp_url, host, oport, path, why, sizeof(why)) == 0 &&
		    !has_port(sb->connect, port = (unsigned)atoi(oport)))
			return check_port(s, "OCSP", 0, "OCSP responder", port, err, errlen);
		if (sb->net_connect && s->ocsp_aia > 0 && !s->ocsp_url) {
			char where[300];
			snprintf(err, errlen, "%s: [%s] OCSPaia = yes needs outgoing connections to any port, which the "
				 "sandbox set at start does not allow; restart tlswrap to use it",
				 cfg_where_nth(s, "OCSPaia", 0, where, sizeof(where)), s->name);
			return -1;
		}
		if (s->local && !has_port(sb->bind, 0))
			return check_port(s, "local", 0, "local (source address) bind", 0, err, errlen);
	}
	return 0;
}

void sandbox_free(struct sandbox *sb)
{
	for (size_t i = 0; i < sb->nrules; i++)
		free(sb->rules[i].path);
	free(sb->rules);
	sb->rules = NULL;
	sb->nrules = sb->cap = 0;
}
