/// GPT-2's reversible map between bytes and printable characters (`bytes_to_unicode`), which lets
/// a byte-level BPE vocabulary be stored as text: every byte becomes one visible character, so
/// `vocab.json` and `merges.txt` never hold spaces or control characters.
enum ByteLevel {
    /// The character standing for each byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        // Printable Latin-1 bytes stand for themselves; the 68 others are shifted past U+00FF in
        // byte order, exactly as GPT-2's encoder.py does.
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var shifted: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // 256 + 67 is the largest value reached, far below the surrogate range.
                table[byte] = Unicode.Scalar(shifted) ?? " "
                shifted += 1
            }
        }
        return table
    }()

    /// The byte each table character stands for, indexed by scalar value (all lie below 0x144);
    /// -1 for characters that are not in the table.
    static let byteForScalar: [Int16] = {
        var inverse = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() {
            inverse[Int(scalar.value)] = Int16(byte)
        }
        return inverse
    }()

    /// The bytes a vocabulary token stands for, or nil when one of its characters is outside the
    /// table (such tokens, e.g. added tokens like "中", never come out of byte-level BPE).
    static func bytes(ofToken token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForScalar.count, byteForScalar[value] >= 0 else { return nil }
            bytes.append(UInt8(byteForScalar[value]))
        }
        return bytes
    }

    /// The bytes `tokenizers`' ByteLevel decoder emits for a token: the mapped bytes when every
    /// character is in the table, otherwise the token's own UTF-8 (so added tokens such as "中"
    /// decode to themselves, and ones made only of table characters, like "</s>", decode through
    /// the table, which for ASCII is the identity).
    static func decodedBytes(ofToken token: String) -> [UInt8] {
        bytes(ofToken: token) ?? Array(token.utf8)
    }

    /// The vocabulary spelling of a byte string (the inverse of `bytes(ofToken:)`).
    static func tokenString<Bytes: Sequence<UInt8>>(forBytes bytes: Bytes) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarForByte[Int(byte)]) }
        return String(scalars)
    }
}
