import Foundation
import Logging
import Testing
@testable import OPTServe

/// The server's log: one line per completion request, at info, and server failures at error.
@Suite struct ServeLoggingTests {
    /// Keeps every line logged through it.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
        func append(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
            lock.withLock { lines.append((level, message, metadata)) }
        }
        var recorded: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.withLock { lines } }
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            recorder.append(event.level, "\(event.message)", metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }

    @Test func everyCompletionRequestIsLoggedWithItsStatusAndTime() async throws {
        let recorder = Recorder()
        let server = try await TestServer(logger: Logger(label: "optiml.serve.test") { _ in RecordingHandler(recorder: recorder) })
        defer { server.stop() }
        let (ok, _) = try await server.post("v1/completions", ["prompt": "hi", "max_tokens": 2])
        let (bad, _) = try await server.post("v1/chat/completions", ["messages": "not a list"])
        #expect(ok == 200 && bad == 400)
        let access = recorder.recorded.filter { $0.message.hasPrefix("POST ") }
        #expect(access.map(\.message) == ["POST /v1/completions 200", "POST /v1/chat/completions 400"])
        #expect(access.allSatisfy { $0.level == .info && Double($0.metadata["seconds"]?.description ?? "") != nil })
    }
}
