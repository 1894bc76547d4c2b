import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain TCP connection to the test server on loopback, for what an HTTP client library will
/// not send: a request cut short, a Content-Length with no body behind it.
final class RawConnection: @unchecked Sendable {
    enum Failure: Error {
        case socket(Int32)
        case connect(Int32)
        case send(Int32)
        case receive(Int32)
        /// Nothing came, and the connection stayed open, for the whole receive timeout.
        case timedOut
        case malformedResponse(String)
    }

    private let fd: Int32

    /// Connects to 127.0.0.1:`port`; a read waits at most `receiveTimeout` seconds for data.
    init(port: Int, receiveTimeout: Int = 300) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure.socket(errno) }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            throw Failure.connect(error)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure.send(errno) }
            sent += n
        }
    }

    /// Up to `limit` bytes, or nil once the peer has closed (a reset counts as closed).
    private func receive(limit: Int = 65536) throws -> Data? {
        var buffer = [UInt8](repeating: 0, count: limit)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { return Data(buffer[..<n]) }
        if n == 0 || errno == ECONNRESET { return nil }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timedOut }
        throw Failure.receive(errno)
    }

    /// Everything until the peer closes the connection.
    func readToEnd() throws -> Data {
        var data = Data()
        while let chunk = try receive() { data += chunk }
        return data
    }

    /// One response with a Content-Length body: its status and body (the connection may stay open).
    func readResponse() throws -> (status: Int, body: Data) {
        var data = Data()
        let separator = Data("\r\n\r\n".utf8)
        while data.range(of: separator) == nil {
            guard let chunk = try receive() else { throw Failure.malformedResponse(String(decoding: data, as: UTF8.self)) }
            data += chunk
        }
        let headEnd = data.range(of: separator)!
        let head = String(decoding: data[..<headEnd.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusWords = lines[0].split(separator: " ")
        guard statusWords.count >= 2, let status = Int(statusWords[1]) else { throw Failure.malformedResponse(head) }
        let length = lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        var body = Data(data[headEnd.upperBound...])
        while body.count < length {
            guard let chunk = try receive() else { throw Failure.malformedResponse(head) }
            body += chunk
        }
        return (status, body.prefix(length))
    }
}

/// Runs blocking work on a thread of its own: the server under test answers on Swift's
/// cooperative threads, which a blocked socket read must not hold.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Polls `condition` until it holds; throws after `limit` seconds (generous: a slow machine is no failure).
func eventually(_ what: String, limit: Double = 300, _ condition: @Sendable () throws -> Bool) async throws {
    struct NeverHappened: Error { let what: String }
    let deadline = Date().addingTimeInterval(limit)
    while try !condition() {
        guard Date() < deadline else { throw NeverHappened(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}
