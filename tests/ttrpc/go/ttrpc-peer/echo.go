package main

import "fmt"

// The messages of tests/ttrpc/echo.proto, declared by hand: gogo/protobuf encodes
// tagged structs by reflection, as ttrpc-go does its own Request and Response.
type EchoRequest struct {
	Payload       []byte `protobuf:"bytes,1,opt,name=payload,proto3"`
	SleepMs       int64  `protobuf:"varint,2,opt,name=sleep_ms,proto3"`
	FailCode      int32  `protobuf:"varint,3,opt,name=fail_code,proto3"`
	FailMessage   string `protobuf:"bytes,4,opt,name=fail_message,proto3"`
	ReplySize     uint32 `protobuf:"varint,5,opt,name=reply_size,proto3"`
	WaitForCancel bool   `protobuf:"varint,6,opt,name=wait_for_cancel,proto3"`
}

func (m *EchoRequest) Reset()         { *m = EchoRequest{} }
func (m *EchoRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*EchoRequest) ProtoMessage()    {}

type EchoReply struct {
	Payload     []byte   `protobuf:"bytes,1,opt,name=payload,proto3"`
	Metadata    []string `protobuf:"bytes,2,rep,name=metadata,proto3"`
	TimeoutNano int64    `protobuf:"varint,3,opt,name=timeout_nano,proto3"`
	Service     string   `protobuf:"bytes,4,opt,name=service,proto3"`
}

func (m *EchoReply) Reset()         { *m = EchoReply{} }
func (m *EchoReply) String() string { return fmt.Sprintf("%+v", *m) }
func (*EchoReply) ProtoMessage()    {}

// rawMessage marshals to exactly its bytes: a way to send an invalid payload.
type rawMessage []byte

func (m *rawMessage) Reset()                   { *m = nil }
func (m *rawMessage) String() string           { return fmt.Sprintf("%x", []byte(*m)) }
func (*rawMessage) ProtoMessage()              {}
func (m *rawMessage) Marshal() ([]byte, error) { return []byte(*m), nil }
