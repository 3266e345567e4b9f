package broker

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// errRefused ends a connection that OnConnect has already answered with a CONNACK.
var errRefused = errors.New("broker: connection refused")

// policy is the broker's only mochi hook for authentication and authorisation: mochi
// grants a check when any hook grants it, so no other hook may provide OnACLCheck or
// OnConnectAuthenticate. It enforces:
//   - passwords (constant time), roles and topic ACLs (mayRead, mayWrite), re-checked at
//     every delivery, so a wildcard subscription receives only what the role may read;
//   - wills: a CONNECT whose will the user may not publish, or a retained will on a
//     command topic, is refused with "not authorized"; OnWill drops any will that fails
//     the same checks (mochi v2.7.9 publishes wills without the publish ACL);
//   - no retained message on a command topic, from anyone (dropped);
//   - client ids: the daemon's ids (IsDaemonClientID) only for role daemon, and no id
//     taken over from another user ("identifier rejected");
//   - the connection limits of the listener ("server unavailable" / "server busy");
//   - publishes the user may not make: dropped at QoS 0; at QoS 1 and 2 an MQTT 5
//     client gets PUBACK/PUBREC "not authorized", an MQTT 3.1.1 client (which has no
//     such code) is disconnected, as mochi does, but logged in one line.
type policy struct {
	mqtt.HookBase
	srv       *mqtt.Server
	anonymous bool
	users     map[string]User
	maxPacket uint32
	log       *refusalLog

	mu     sync.Mutex
	claims map[string]*idClaim // client id -> the user connecting or connected with it
}

type idClaim struct {
	user string
	n    int // connections holding the claim
}

func newPolicy(srv *mqtt.Server, c Credentials, anonymous bool, maxPacket uint32, log *refusalLog) *policy {
	p := &policy{srv: srv, anonymous: anonymous, users: map[string]User{}, maxPacket: maxPacket,
		log: log, claims: map[string]*idClaim{}}
	for _, u := range c.Users {
		p.users[u.Username] = u
	}
	return p
}

// ID names the hook.
func (p *policy) ID() string { return "praxis-policy" }

// Provides lists the hook methods implemented.
func (p *policy) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck,
		mqtt.OnPublish, mqtt.OnSubscribed, mqtt.OnWill, mqtt.OnPacketEncode:
		return true
	}
	return false
}

// role returns the role of the client's user ("" for none).
func (p *policy) role(cl *mqtt.Client) string {
	if p.anonymous {
		return roleAnonymous
	}
	return p.users[string(cl.Properties.Username)].Role
}

// passwordOK compares SHA-256 digests in constant time, so that neither the password's
// length nor whether the user exists shows in the time taken.
func (p *policy) passwordOK(user string, password []byte) (ok, known bool) {
	u, known := p.users[user]
	want := sha256.Sum256([]byte(u.Password))
	got := sha256.Sum256(password)
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && known, known
}

// OnConnect authenticates the CONNECT and checks its will and client id, answering a
// refusal with its own CONNACK (MQTT 5 reason code, or the 3.1.1 return code).
func (p *policy) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	user := string(pk.Connect.Username)
	c, _ := cl.Net.Conn.(*conn)
	remote := cl.Net.Remote
	if !p.anonymous {
		if ok, known := p.passwordOK(user, pk.Connect.Password); !ok {
			reason := reasonBadPassword
			if !known {
				reason = reasonUnknownUser
			}
			p.log.refuse(reason, user, remote, cl.ID, "")
			return p.refuse(cl, packets.ErrBadUsernameOrPassword, packets.ErrMalformedUsernameOrPassword) // 3.1.1: 0x04
		}
	}
	role := p.role(cl)
	if pk.Connect.WillFlag {
		if reason := p.willRefusal(role, pk.Connect.WillTopic, pk.Connect.WillRetain); reason != "" {
			p.log.refuse(reason, user, remote, cl.ID, pk.Connect.WillTopic)
			return p.refuse(cl, packets.ErrNotAuthorized, packets.Err3NotAuthorized)
		}
	}
	if p.anonymous {
		if c != nil && !c.authenticate(role) {
			p.log.refuse(reasonConnLimit, user, remote, cl.ID, "")
			return p.refuse(cl, packets.ErrServerBusy, packets.Err3ServerUnavailable)
		}
		return nil
	}
	if IsDaemonClientID(cl.ID) && role != RoleDaemon {
		p.log.refuse(reasonReservedID, user, remote, cl.ID, "")
		return p.refuse(cl, packets.ErrClientIdentifierNotValid, packets.Err3ClientIdentifierNotValid)
	}
	release, ok := p.claim(cl.ID, user)
	if !ok {
		p.log.refuse(reasonIDInUse, user, remote, cl.ID, "")
		return p.refuse(cl, packets.ErrClientIdentifierNotValid, packets.Err3ClientIdentifierNotValid)
	}
	if c == nil {
		release()
		return nil
	}
	c.identify(user, cl.ID, release)
	if !c.authenticate(role) {
		p.log.refuse(reasonConnLimit, user, remote, cl.ID, "")
		return p.refuse(cl, packets.ErrServerBusy, packets.Err3ServerUnavailable)
	}
	return nil
}

// willRefusal returns why a will on topic (retained or not) is refused for role, or "".
func (p *policy) willRefusal(role, topic string, retain bool) string {
	if !mqtt.IsValidFilter(topic, true) || !mayWrite(role, topic) {
		return reasonWillDenied
	}
	if retain && IsCommandTopic(topic) {
		return reasonWillRetained
	}
	return ""
}

// refuse sends a refusing CONNACK: v5 to MQTT 5 clients, v3 to older ones.
func (p *policy) refuse(cl *mqtt.Client, v5, v3 packets.Code) error {
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: v3.Code}
	if cl.Properties.ProtocolVersion == 5 {
		ack.ReasonCode = v5.Code
		ack.Properties.ReasonString = v5.Reason
	}
	_ = cl.WritePacket(ack) // the connection closes next anyway
	return errRefused
}

// claim reserves client id for user while the connection lives; it fails when another
// user is connected (or keeps a session) with that id, or is connecting with it now.
func (p *policy) claim(id, user string) (release func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if existing, found := p.srv.Clients.Get(id); found &&
		(existing.Net.Inline || !bytes.Equal(existing.Properties.Username, []byte(user))) {
		return nil, false // mochi's inline client ("inline") is nobody's to take over
	}
	c := p.claims[id]
	if c != nil && c.user != user {
		return nil, false
	}
	if c == nil {
		c = &idClaim{user: user}
		p.claims[id] = c
	}
	c.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if c.n--; c.n == 0 && p.claims[id] == c {
				delete(p.claims, id)
			}
		})
	}, true
}

// OnConnectAuthenticate grants a known user with the right password (checked again:
// OnConnect already refused the others with their own reason code).
func (p *policy) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if p.anonymous {
		return true
	}
	ok, _ := p.passwordOK(string(pk.Connect.Username), pk.Connect.Password)
	return ok
}

// OnACLCheck grants reads (subscriptions and every delivery) by role. Writes by MQTT
// 5 clients are checked here (mochi answers PUBACK "not authorized"); writes by older
// clients pass here and are refused by OnPublish (mochi would log the whole packet).
func (p *policy) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	role := p.role(cl)
	if !write {
		return mayRead(role, topic)
	}
	if cl.Properties.ProtocolVersion < 5 {
		return true
	}
	if !mayWrite(role, topic) {
		p.log.refuse(reasonPublishDenied, string(cl.Properties.Username), cl.Net.Remote, cl.ID, topic)
		return false
	}
	return true
}

// OnPublish drops what the user may not publish, and every retained command.
func (p *policy) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !cl.Net.Inline && !mayWrite(p.role(cl), pk.TopicName) {
		p.log.refuse(reasonPublishDenied, string(cl.Properties.Username), cl.Net.Remote, cl.ID, pk.TopicName)
		if pk.FixedHeader.Qos == 0 {
			return pk, packets.CodeSuccessIgnore // delivered to nobody
		}
		// MQTT 3.1.1 cannot refuse a QoS 1/2 publish but by closing the connection
		// [MQTT-3.3.5-2]; acknowledging it would leave the CLI waiting for an answer.
		_ = p.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
		return pk, packets.ErrRejectPacket
	}
	if pk.FixedHeader.Retain && IsCommandTopic(pk.TopicName) {
		p.log.refuse(reasonRetainedCmd, string(cl.Properties.Username), cl.Net.Remote, cl.ID, pk.TopicName)
		return pk, packets.CodeSuccessIgnore
	}
	return pk, nil
}

// OnSubscribed logs the filters refused.
func (p *policy) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] >= packets.ErrUnspecifiedError.Code {
			p.log.refuse(reasonSubDenied, string(cl.Properties.Username), cl.Net.Remote, cl.ID, f.Filter)
		}
	}
}

// OnWill drops (by emptying its topic, which matches no subscriber) a will that the
// client may not publish: defence in depth behind OnConnect.
func (p *policy) OnWill(cl *mqtt.Client, w mqtt.Will) (mqtt.Will, error) {
	if reason := p.willRefusal(p.role(cl), w.TopicName, w.Retain); reason != "" {
		p.log.refuse(reasonWillDropped, string(cl.Properties.Username), cl.Net.Remote, cl.ID, w.TopicName)
		return mqtt.Will{}, nil
	}
	return w, nil
}

// OnPacketEncode announces the maximum packet size to MQTT 5 clients in the CONNACK.
func (p *policy) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack && pk.ProtocolVersion == 5 && pk.ReasonCode == 0 {
		pk.Properties.MaximumPacketSize = p.maxPacket
	}
	return pk
}
