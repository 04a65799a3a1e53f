/** Where the callback sends the browser (used by Nest's @Redirect()). */
export class OAuthRedirectDto {
  /** The configured OAUTH_REDIRECT_URL with `#accessToken=..&refreshToken=..&expiresIn=..&tokenType=Bearer`. */
  url!: string;
  statusCode!: 302;
}
