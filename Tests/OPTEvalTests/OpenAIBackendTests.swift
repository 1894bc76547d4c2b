import Foundation
import Testing
@testable import OPTEval
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback HTTP server with canned answers: one connection at a time, `Connection: close`. It
/// serves until the test process ends.
final class CannedServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var requests: [(headers: String, body: String)] = []
    private let answer: (Int, String) -> (status: Int, body: String)

    /// `answer(number, body)` gives the status and body of the request numbered `number` (from 0).
    init(answer: @escaping (Int, String) -> (status: Int, body: String)) throws {
        self.answer = answer
        let (listener, port) = try bindLoopback()
        guard listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.listener = listener
        self.port = port
        Thread.detachNewThread { [self] in serve() }
    }

    var received: [(headers: String, body: String)] { lock.withLock { requests } }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            // Headers, then as many body bytes as Content-Length says.
            while true {
                let count = read(connection, &buffer, buffer.count)
                if count <= 0 { break }
                data += buffer[0..<count]
                let text = String(decoding: data, as: UTF8.self)
                guard let end = text.range(of: "\r\n\r\n") else { continue }
                let headers = String(text[..<end.lowerBound])
                let length = headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.distance(from: text.startIndex, to: end.upperBound) >= length { break }
            }
            let text = String(decoding: data, as: UTF8.self)
            let parts = text.components(separatedBy: "\r\n\r\n")
            let number = lock.withLock { () -> Int in
                requests.append((parts[0], parts.dropFirst().joined(separator: "\r\n\r\n")))
                return requests.count - 1
            }
            let (status, body) = answer(number, requests[number].body)
            let reply = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = reply.withCString { write(connection, $0, strlen($0)) }
            close(connection)
        }
    }
}

/// A TCP socket bound to 127.0.0.1 on a port the system picks, and that port.
func bindLoopback() throws -> (socket: Int32, port: UInt16) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard descriptor >= 0, bound else {
        close(descriptor)
        throw POSIXError(.EADDRINUSE)
    }
    return (descriptor, UInt16(bigEndian: address.sin_port))
}

@Suite("OpenAI-compatible backend")
struct OpenAIBackendTests {
    static let logprobsAnswer = """
    {"choices": [{"text": "Q: A yes", "logprobs": {"tokens": ["Q", ":", " A", " yes"], "text_offset": [0, 1, 2, 4],
     "token_logprobs": [null, -1.0, -2.0, -0.5], "top_logprobs": [null, {":": -1.0}, {" B": -1.5}, {" yes": -0.5, " no": -1.2}]}}]}
    """

    func backend(_ server: CannedServer, retries: Int = 2) -> OpenAIBackend {
        OpenAIBackend(baseURL: URL(string: "http://127.0.0.1:\(server.port)/v1")!, model: "m", apiKey: "k", concurrency: 2,
                      timeout: 5, retries: retries)
    }

    @Test("scoring sends echo/logprobs/max_tokens 0 and sums the tokens past the context; generation sends stop")
    func requestsAndAnswers() async throws {
        let server = try CannedServer { _, body in
            (200, body.contains("\"echo\":true") ? Self.logprobsAnswer : #"{"choices": [{"text": " hello"}]}"#)
        }
        let answers = try await backend(server).answer([.loglikelihood(context: "Q: A", continuation: " yes"),
                                                  .generate(context: "Say", until: ["\n"], maxTokens: 5)])
        #expect(answers[0] == .loglikelihood(logprob: -0.5, isGreedy: true, tokens: 1))
        #expect(answers[1] == .generated(" hello"))
        let requests = server.received
        #expect(requests.count == 2)
        let scoring = try #require(requests.first { $0.body.contains("echo") })
        #expect(scoring.headers.contains("POST /v1/completions"))
        #expect(scoring.headers.contains("Bearer k"))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(scoring.body.utf8)) as? [String: Any])
        #expect(body["prompt"] as? String == "Q: A yes" && body["max_tokens"] as? Int == 0 && body["logprobs"] as? Int == 1)
        let generation = try #require(requests.first { !$0.body.contains("echo") })
        let generationBody = try #require(try JSONSerialization.jsonObject(with: Data(generation.body.utf8)) as? [String: Any])
        #expect(generationBody["stop"] as? [String] == ["\n"] && generationBody["max_tokens"] as? Int == 5)
    }

    @Test("a 503 is retried, a 400 is not, a malformed answer is an error")
    func retriesAndErrors() async throws {
        let flaky = try CannedServer { number, _ in number == 0 ? (503, "busy") : (200, Self.logprobsAnswer) }
        #expect(try await backend(flaky).answer([.loglikelihood(context: "Q: A", continuation: " yes")]).count == 1)
        #expect(flaky.received.count == 2)
        let refusing = try CannedServer { _, _ in (400, #"{"error": {"message": "bad"}}"#) }
        await #expect(throws: RemoteBackendError.self) { try await backend(refusing).answer([.generate(context: "x", until: [], maxTokens: 1)]) }
        #expect(refusing.received.count == 1)
        let odd = try CannedServer { _, _ in (200, #"{"choices": []}"#) }
        await #expect(throws: RemoteBackendError.malformedResponse(url: "http://127.0.0.1:\(odd.port)/v1/completions", reason: "no choices")) {
            try await backend(odd).answer([.generate(context: "x", until: [], maxTokens: 1)])
        }
    }

    @Test("many requests through several connections come back in the requests' order")
    func order() async throws {
        // Each answer repeats the number in its prompt, so an answer in the wrong slot shows.
        let server = try CannedServer { _, body in
            let number = body.split(separator: "#").dropFirst().first.map { $0.prefix { $0.isNumber } } ?? ""
            return (200, #"{"choices": [{"text": "\#(number)"}]}"#)
        }
        let requests = (0..<24).map { EvalRequest.generate(context: "prompt #\($0)", until: [], maxTokens: 1) }
        let backend = OpenAIBackend(baseURL: URL(string: "http://127.0.0.1:\(server.port)/v1")!, model: "m", concurrency: 5, timeout: 5)
        #expect(try await backend.answer(requests) == (0..<24).map { .generated("\($0)") })
        #expect(server.received.count == 24)
    }

    @Test("an answer longer than the limit is an error naming the URL, not unbounded memory")
    func oversizedAnswer() async throws {
        let server = try CannedServer { _, _ in (200, #"{"choices": [{"text": "\#(String(repeating: "x", count: 5000))"}]}"#) }
        let backend = OpenAIBackend(baseURL: URL(string: "http://127.0.0.1:\(server.port)/v1")!, model: "m", timeout: 5, maxResponseBytes: 1000)
        let error = try await #require(throws: RemoteBackendError.self) { try await backend.answer([.generate(context: "x", until: [], maxTokens: 1)]) }
        #expect(error.description.contains("127.0.0.1:\(server.port)/v1/completions") && error.description.contains("longer than 1000 bytes"))
    }

    @Test("a server that does not answer in time: a timeout, retried, then an error")
    func timeout() async throws {
        let slow = try CannedServer { _, _ in
            Thread.sleep(forTimeInterval: 1.5)
            return (200, Self.logprobsAnswer)
        }
        let backend = OpenAIBackend(baseURL: URL(string: "http://127.0.0.1:\(slow.port)/v1")!, model: "m", timeout: 0.5, retries: 1)
        let error = try await #require(throws: RemoteBackendError.self) { try await backend.answer([.generate(context: "x", until: [], maxTokens: 1)]) }
        guard case let .unreachable(_, _, attempts) = error else {
            Issue.record("expected unreachable, got \(error)")
            return
        }
        #expect(attempts == 2)
    }

    @Test("a server that sends its headers and then stalls in the body: a timeout, not a hang")
    func stalledBody() async throws {
        let (listener, port) = try bindLoopback()
        guard listen(listener, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        Thread.detachNewThread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 65536)
                _ = read(connection, &buffer, buffer.count)
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"choices\": ["
                _ = head.withCString { write(connection, $0, strlen($0)) }
                Thread.sleep(forTimeInterval: 5)
                close(connection)
            }
        }
        let backend = OpenAIBackend(baseURL: URL(string: "http://127.0.0.1:\(port)/v1")!, model: "m", timeout: 0.5, retries: 0)
        let started = Date()
        let error = try await #require(throws: RemoteBackendError.self) { try await backend.answer([.generate(context: "x", until: [], maxTokens: 1)]) }
        #expect(Date().timeIntervalSince(started) < 3, "the stalled body was waited for")
        #expect(error.description.contains("within 0.5 s"), "\(error)")
    }

    /// A loopback port that was free a moment ago: bound, read and closed, with nothing listening.
    static func unusedPort() throws -> UInt16 {
        let (probe, port) = try bindLoopback()
        close(probe)
        return port
    }

    @Test("a server that is not there: an error naming the URL after the retries")
    func unreachable() async throws {
        let port = try Self.unusedPort()
        let backend = OpenAIBackend(baseURL: URL(string: "http://127.0.0.1:\(port)/v1")!, model: "m", timeout: 2, retries: 1)
        let error = try await #require(throws: RemoteBackendError.self) { try await backend.answer([.generate(context: "x", until: [], maxTokens: 1)]) }
        #expect(error.description.contains("127.0.0.1:\(port)/v1/completions") && error.description.contains("2 attempts"))
    }
}
