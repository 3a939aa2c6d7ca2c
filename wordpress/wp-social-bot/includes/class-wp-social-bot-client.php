<?php
/**
 * Signed requests to the bot, per the bot <-> plugin protocol.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

/**
 * Sends a JSON object to the bot, signed with the shared secret (HMAC-SHA256 of "<timestamp>.<body>").
 */
class WP_Social_Bot_Client {

	/** The largest answer read from the bot (bytes). */
	const MAX_ANSWER = 65536;

	/**
	 * POSTs a signed JSON body to <bot>/<path>. A fresh random nonce is added, so no two requests share a signature.
	 *
	 * @param string $path    The path under the bot's address, e.g. '/wordpress/notice'.
	 * @param array  $body    The JSON object's fields.
	 * @param int    $timeout Seconds.
	 * @return array{code: int, body: string}|WP_Error The HTTP status and the (size-capped) answer, or why none came.
	 */
	public static function post( $path, array $body, $timeout ) {
		$url    = WP_Social_Bot_Settings::url();
		$secret = WP_Social_Bot_Settings::secret();
		if ( '' === $url || '' === $secret ) {
			return new WP_Error( 'wp_social_bot_not_configured', __( 'The bot\'s address or the shared secret is not set.', 'wp-social-bot' ) );
		}
		$body['nonce'] = wp_generate_password( 20, false );
		$json          = wp_json_encode( $body );
		if ( false === $json ) {
			return new WP_Error( 'wp_social_bot_json', __( 'The request could not be encoded.', 'wp-social-bot' ) );
		}
		$timestamp = (string) time();
		$response  = wp_remote_post(
			$url . $path,
			array(
				'timeout'             => $timeout,
				'redirection'         => 0,
				'blocking'            => true,
				'limit_response_size' => self::MAX_ANSWER,
				'headers'             => array(
					'Content-Type'              => 'application/json',
					'X-WP-Social-Bot-Timestamp' => $timestamp,
					'X-WP-Social-Bot-Signature' => 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $json, $secret ),
				),
				'body'                => $json,
				'data_format'         => 'body',
			)
		);
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		return array(
			'code' => (int) wp_remote_retrieve_response_code( $response ),
			'body' => (string) wp_remote_retrieve_body( $response ),
		);
	}

	/**
	 * A short, translated sentence for a failed answer (never the secret).
	 *
	 * @param array{code: int, body: string}|WP_Error $answer What post() returned.
	 * @return string '' when the answer is a success (2xx).
	 */
	public static function failure( $answer ) {
		if ( is_wp_error( $answer ) ) {
			/* translators: %s: the error WordPress's HTTP client gave, e.g. "cURL error 7: Failed to connect". */
			return sprintf( __( 'Could not reach the bot: %s', 'wp-social-bot' ), $answer->get_error_message() );
		}
		if ( $answer['code'] >= 200 && $answer['code'] < 300 ) {
			return '';
		}
		if ( 404 === $answer['code'] ) {
			return __( 'The bot refused the signature (check the secret).', 'wp-social-bot' );
		}
		/* translators: %d: an HTTP status code, e.g. 500. */
		return sprintf( __( 'The bot answered HTTP %d.', 'wp-social-bot' ), $answer['code'] );
	}
}
