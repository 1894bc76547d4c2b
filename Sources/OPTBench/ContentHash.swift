import Crypto
import Foundation

/// Content hashes the project records: lowercase hexadecimal SHA-256.
public enum ContentHash {
    public static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}
