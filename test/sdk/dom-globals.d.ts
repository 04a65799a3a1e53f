// The generated SDK targets browsers and Node alike and names one DOM type that @types/node does not declare
// globally. The SDK's own build uses the DOM lib (sdk/tsconfig.json); this project's tests get the alias here.
type BodyInit = NonNullable<RequestInit['body']>;
