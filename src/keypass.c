/* Passphrases of encrypted keys (see keypass.h). */
#include "keypass.h"
#include "optfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

int keypass_can_prompt(void)
{
	return isatty(STDIN_FILENO);
}

/* ERR was "WHAT PATH: Permission denied": when tlswrap no longer runs as root (setuid), the likely reason is
 * a file only root may read, read at start and not on a reload (systemd's credentials directory is root's
 * only): say so. */
static void setuid_hint(char *err, size_t errlen)
{
	uid_t uid = geteuid();
	if (uid == 0)
		return;
	struct passwd *pw = getpwuid(uid);
	size_t n = strlen(err);
	if (pw)
		snprintf(err + n, errlen - n, " (tlswrap runs as %s now, after setuid: a passphrase file or systemd "
					      "credential only root can read is read at start but not on a reload; see "
					      "README.md, Encrypted keys)", pw->pw_name);
	else
		snprintf(err + n, errlen - n, " (tlswrap runs as uid %lu now, after setuid: a passphrase file or systemd "
					      "credential only root can read is read at start but not on a reload; see "
					      "README.md, Encrypted keys)", (unsigned long)uid);
}

/* The first line of PATH (named by WHAT) into PW. The file is refused when group or others may read it:
 * a passphrase beside a key is only as safe as the file that holds it. */
static int read_file(const char *what, const char *path, char pw[KEYPASS_MAX], char *err, size_t errlen)
{
	struct stat st;
	char buf[KEYPASS_MAX + 1];
	FILE *f = optfile_open(what, path, err, errlen);
	if (!f) {
		if (errno == EACCES) /* optfile_open's snprintf leaves errno as open(2) set it */
			setuid_hint(err, errlen);
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
		snprintf(err, errlen, "%s %s: readable by %s (mode %04o): refusing a passphrase others can read "
				      "(chmod go-rwx)", what, path, st.st_mode & S_IROTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -1;
	}
	setvbuf(f, NULL, _IONBF, 0); /* no copy of the passphrase in stdio's buffer */
	size_t len = fread(buf, 1, sizeof(buf), f);
	int bad = ferror(f);
	fclose(f);
	size_t line = 0;
	while (line < len && buf[line] != '\n')
		line++;
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (bad || line >= KEYPASS_MAX || line == 0 || memchr(buf, '\0', line)) {
		mbedtls_platform_zeroize(buf, sizeof(buf));
		snprintf(err, errlen, "%s %s: %s", what, path,
			 bad ? "read error" : line == 0 ? "the first line is empty (it holds the passphrase)"
			 : line >= KEYPASS_MAX ? "the passphrase is longer than 1023 bytes" : "the passphrase holds a NUL byte");
		return -1;
	}
	memcpy(pw, buf, line);
	pw[line] = '\0';
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return 0;
}

/* Ask at the terminal, without echo, as stunnel (OpenSSL's PEM prompt) does. */
static int ask(const char *keypath, char pw[KEYPASS_MAX], char *err, size_t errlen)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "key %s is encrypted and /dev/tty cannot be opened to ask for its passphrase: %s",
			 keypath, strerror(errno));
		return -1;
	}
	int echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		echo_off = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	if (!echo_off) { /* never read a passphrase that would be echoed */
		close(fd);
		snprintf(err, errlen, "key %s is encrypted and the terminal's echo cannot be turned off to ask for its "
				      "passphrase", keypath);
		return -1;
	}
	dprintf(fd, "Enter pass phrase for %s: ", keypath);
	size_t len = 0;
	int rc = -1;
	for (char ch;;) {
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || ch == '\n' || ch == '\r') {
			rc = n > 0 && len > 0 ? 0 : -1;
			break;
		}
		if (len + 1 < KEYPASS_MAX)
			pw[len++] = ch;
	}
	pw[len] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	close(fd);
	if (rc < 0) {
		mbedtls_platform_zeroize(pw, KEYPASS_MAX);
		snprintf(err, errlen, "key %s: no passphrase was typed", keypath);
	}
	return rc;
}

int keypass_get(const struct cfg_service *s, const char *keypath, int prompt, char pw[KEYPASS_MAX],
		struct keypass_source *from, char *err, size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	const char *file = s->key_password_file;
	int credential = creds && *creds && file && !strchr(file, '/');
	if (!file && creds && *creds) { /* the default credential, when systemd passed it */
		snprintf(from->path, sizeof(from->path), "%s/%s", creds, KEYPASS_CREDENTIAL);
		if (access(from->path, F_OK) == 0) {
			snprintf(from->what, sizeof(from->what), "credential");
			return read_file("credential", from->path, pw, err, errlen);
		}
		int e = errno;
		if (e != ENOENT) { /* not "no such credential": the directory cannot be searched */
			snprintf(err, errlen, "cannot read the credential %s: %s", from->path, strerror(e));
			if (e == EACCES)
				setuid_hint(err, errlen);
			return -1;
		}
	}
	if (file) {
		snprintf(from->what, sizeof(from->what), "keyPasswordFile");
		if (credential &&
		    snprintf(from->path, sizeof(from->path), "%s/%s", creds, file) >= (int)sizeof(from->path)) {
			snprintf(err, errlen, "keyPasswordFile %s: $CREDENTIALS_DIRECTORY/%s is too long", file, file);
			return -1;
		}
		if (!credential)
			snprintf(from->path, sizeof(from->path), "%s", file);
		return read_file("keyPasswordFile", from->path, pw, err, errlen);
	}
	snprintf(from->what, sizeof(from->what), "terminal");
	from->path[0] = '\0';
	if (prompt)
		return ask(keypath, pw, err, errlen);
	snprintf(err, errlen, "key %s is encrypted: give its passphrase in keyPasswordFile or the systemd credential "
			      "%s, or start tlswrap in the foreground on a terminal to type it", keypath, KEYPASS_CREDENTIAL);
	return -1;
}
