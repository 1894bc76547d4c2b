import Foundation
import OPTOpenAI

/// An OpenAI-style error: the HTTP status and the `{"error": {...}}` body.
public struct APIError: Error, Equatable, Sendable {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(status: Int = 400, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    var body: ErrorBody { ErrorBody(message: message, type: type, param: param, code: code) }

    static func invalid(_ param: String, _ message: String) -> APIError { APIError(message, param: param) }
}
