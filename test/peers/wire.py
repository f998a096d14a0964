"""Protobuf wire format by hand (varints, tags, length-delimited fields),
for messages no .proto can express: malformed fields, hundreds of field
numbers.  No imports, so test/kaspa_pb_ref.py can use it too."""


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def tag(number, wire_type):
    return varint(number << 3 | wire_type)


def length_delimited(number, body):
    return tag(number, 2) + varint(len(body)) + body
