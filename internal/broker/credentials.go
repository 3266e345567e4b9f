package broker

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// CredentialsFile is the name, inside the data directory, of the broker's user file.
const CredentialsFile = "mqtt-credentials.yaml"

// Roles a user can have.
const (
	RoleOperator = "operator" // read and write praxis/#: may command the robot
	RoleObserver = "observer" // read praxis/# except praxis/+/cmd/#: may only watch
	RoleDaemon   = "daemon"   // read and write praxis/#, the daemon's client ids: the daemon's own connection
)

// Default user names, generated on first start.
const (
	OperatorUser = "operator"
	ObserverUser = "observer"
	DaemonUser   = "praxis-daemon"
)

// User is one broker account.
type User struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Role     string `yaml:"role"` // RoleOperator, RoleObserver or RoleDaemon
}

// Credentials is the content of the credentials file. Users may be added by hand.
type Credentials struct {
	Users []User `yaml:"users"`
}

// Get returns the user called name.
func (c Credentials) Get(name string) (User, bool) {
	for _, u := range c.Users {
		if u.Username == name {
			return u, true
		}
	}
	return User{}, false
}

// ByRole returns the first user with role.
func (c Credentials) ByRole(role string) (User, bool) {
	for _, u := range c.Users {
		if u.Role == role {
			return u, true
		}
	}
	return User{}, false
}

// LoadOrCreateCredentials reads dir/CredentialsFile, or creates it (mode 0600) with an
// operator, an observer and a daemon user with random passwords; created tells which.
func LoadOrCreateCredentials(dir string) (c Credentials, created bool, err error) {
	path := filepath.Join(dir, CredentialsFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if err := yaml.Unmarshal(b, &c); err != nil {
			return c, false, fmt.Errorf("broker: %s: %w", path, err)
		}
		return c, false, c.validate(path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return c, false, fmt.Errorf("broker: %w", err)
	}
	for _, u := range [][2]string{{OperatorUser, RoleOperator}, {ObserverUser, RoleObserver}, {DaemonUser, RoleDaemon}} {
		pw, err := NewPassword()
		if err != nil {
			return c, false, err
		}
		c.Users = append(c.Users, User{Username: u[0], Password: pw, Role: u[1]})
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		return c, false, fmt.Errorf("broker: %w", err)
	}
	out = append([]byte("# Praxis MQTT users, generated on first start. Keep secret.\n"+
		"# Roles: operator (command the robot), observer (watch only), daemon (the daemon itself).\n"), out...)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, false, fmt.Errorf("broker: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return c, false, fmt.Errorf("broker: %w", err)
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		os.Remove(path)
		return c, false, fmt.Errorf("broker: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return c, false, fmt.Errorf("broker: %w", err)
	}
	if err := f.Close(); err != nil {
		return c, false, fmt.Errorf("broker: %w", err)
	}
	return c, true, nil
}

func (c Credentials) validate(path string) error {
	if len(c.Users) == 0 {
		return fmt.Errorf("broker: %s: no users", path)
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Username == "":
			return fmt.Errorf("broker: %s: users[%d].username: empty", path, i)
		case seen[u.Username]:
			return fmt.Errorf("broker: %s: users[%d].username: duplicate %q", path, i, u.Username)
		case len(u.Password) < 8:
			return fmt.Errorf("broker: %s: users[%d].password: at least 8 characters", path, i)
		case u.Role != RoleOperator && u.Role != RoleObserver && u.Role != RoleDaemon:
			return fmt.Errorf("broker: %s: users[%d].role: %q, want operator, observer or daemon", path, i, u.Role)
		}
		seen[u.Username] = true
	}
	return nil
}

// NewPassword returns 24 random characters (144 bits) from crypto/rand.
func NewPassword() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("broker: random password: %w", err)
	}
	return strings.NewReplacer("+", "x", "/", "y").Replace(base64.StdEncoding.EncodeToString(b[:])), nil
}
