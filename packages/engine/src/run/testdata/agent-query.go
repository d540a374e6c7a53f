// agent-query requests from the SSH agent at $SSH_AUTH_SOCK its identities (SSH2_AGENTC_REQUEST_IDENTITIES)
// and prints the socket's owner and mode, the key count and each key comment. The engine's ssh
// mount tests build it as a static binary and run it inside RUN.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

func main() {
	socket := os.Getenv("SSH_AUTH_SOCK")
	var st syscall.Stat_t
	if err := syscall.Stat(socket, &st); err != nil {
		fmt.Println("stat failed:", err)
		os.Exit(2)
	}
	fmt.Printf("socket=%s mode=%o uid=%d gid=%d\n", socket, st.Mode&0o7777, st.Uid, st.Gid)

	conn, err := net.Dial("unix", socket)
	if err != nil {
		fmt.Println("dial failed:", err)
		os.Exit(2)
	}
	defer conn.Close()
	// A message is a uint32 length, then the type byte: 11 requests identities and 12 is the reply.
	if _, err := conn.Write([]byte{0, 0, 0, 1, 11}); err != nil {
		fmt.Println("write failed:", err)
		os.Exit(2)
	}
	var length uint32
	if err := binary.Read(conn, binary.BigEndian, &length); err != nil {
		fmt.Println("read failed:", err)
		os.Exit(2)
	}
	reply := make([]byte, length)
	if _, err := io.ReadFull(conn, reply); err != nil || len(reply) < 5 || reply[0] != 12 {
		fmt.Println("unexpected reply")
		os.Exit(3)
	}
	count := binary.BigEndian.Uint32(reply[1:5])
	fmt.Printf("keys=%d\n", count)
	offset := 5
	for i := uint32(0); i < count; i++ {
		blob := int(binary.BigEndian.Uint32(reply[offset:]))
		offset += 4 + blob
		comment := int(binary.BigEndian.Uint32(reply[offset:]))
		fmt.Printf("comment=%s\n", reply[offset+4:offset+4+comment])
		offset += 4 + comment
	}
}
